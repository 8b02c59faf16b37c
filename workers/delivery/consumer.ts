/**
 * @module The delivery consumer: claim the batch's deliveries in one D1 batch, then work each one
 * concurrently (so one slow endpoint holds up nobody else; the sends share the invocation's connections)
 * and record it as soon as it is done.
 * It never throws out of `queue()`: whatever goes wrong, D1 still says what is due and the sweeper acts on it.
 */
import { config } from "../config";
import { database, type Database } from "../db/client";
import { enqueueDeliveries, type QueueMessage } from "../queue/delivery-queue";
import { ConnectionLimiter } from "../outbound/connection-limiter";
import { claimDeliveries, notYetDue, type ClaimedDelivery } from "./claim";
import { deliver } from "./deliver";
import { requeueLostDeliveries } from "./sweeper";

export async function handleDeliveryBatch(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const db = database(env);
  let claimed: ClaimedDelivery[];
  let early: { id: string; nextAttemptAt: Date }[];
  try {
    const ids = [...new Set(batch.messages.map((message) => (message.body as { deliveryId?: unknown } | null)?.deliveryId).filter((id): id is string => typeof id === "string"))];
    const now = Date.now();
    claimed = await claimDeliveries(db, ids, now);
    const claimedIds = new Set(claimed.map((item) => item.delivery.id));
    early = await notYetDue(db, ids.filter((id) => !claimedIds.has(id)), now);
  } catch (error) {
    console.error(JSON.stringify({ msg: "claim failed; retrying the batch", size: batch.messages.length, error: String(error) }));
    batch.retryAll({ delaySeconds: 5 });
    return;
  }
  // Unclaimed ids were duplicates or already done, or came early and are sent again for the rest of their wait.
  batch.ackAll();
  for (const { id, nextAttemptAt } of early) await enqueueDeliveries(env, [id], (nextAttemptAt.getTime() - Date.now()) / 1000);
  // One set of connections for the whole invocation: the platform's limit is per invocation.
  const connections = new ConnectionLimiter();
  const heartbeats = batch.messages.map((message) => (message.body as { heartbeatSentAt?: unknown } | null)?.heartbeatSentAt).filter((at): at is number => typeof at === "number");
  await Promise.all([
    ...claimed.map((item) => deliverSafely(db, env, item, connections)),
    // After the claim: this batch's own deliveries are `sending` now and cannot look lost.
    ...(heartbeats.length > 0 ? [requeueLostDeliveries(env, Math.max(...heartbeats)).catch((error) => console.error(JSON.stringify({ msg: "lost-message sweep failed", error: String(error) })))] : []),
  ]);
}

async function deliverSafely(db: Database, env: Env, item: ClaimedDelivery, connections: ConnectionLimiter): Promise<void> {
  try {
    await deliver(db, env, item, { allowPrivateNetwork: config(env).allowPrivateNetwork, connections });
  } catch (error) {
    // The lease lapses and the sweeper queues the delivery again; the claim counted the attempt, so this is bounded.
    console.error(JSON.stringify({ msg: "delivery failed unexpectedly", deliveryId: item.delivery.id, error: String(error) }));
  }
}
