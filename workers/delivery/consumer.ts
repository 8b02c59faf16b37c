/**
 * @module The delivery consumer: a queue batch is one pass of the delivery path (deliver.ts) — one read, one
 * DO exchange per endpoint, one claim, sends sharing the invocation's connections, writes grouped as they finish.
 * It never throws out of `queue()`: whatever goes wrong, D1 still says what is due and the sweeper acts on it.
 */
import { config } from "../config";
import { ConnectionLimiter } from "../outbound/connection-limiter";
import { deliveryIdsOf, type QueueMessage } from "../queue/delivery-queue";
import { deliverBatch } from "./deliver";
import { requeueLostDeliveries } from "./sweeper";

export async function handleDeliveryBatch(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const ids = [...new Set(batch.messages.flatMap((message) => deliveryIdsOf(message.body)))];
  const heartbeats = batch.messages.map((message) => (message.body as { heartbeatSentAt?: unknown } | null)?.heartbeatSentAt).filter((at): at is number => typeof at === "number");
  // One set of connections for the whole invocation: the platform's limit is per invocation.
  const connections = new ConnectionLimiter();
  // Run once the batch's own deliveries are claimed or written, so that none of them can look lost.
  const findLostMessages =
    heartbeats.length > 0
      ? () => requeueLostDeliveries(env, Math.max(...heartbeats)).then(
          () => undefined,
          (error) => console.error(JSON.stringify({ msg: "lost-message sweep failed", error: String(error) })),
        )
      : undefined;
  const delivered = await deliverBatch(env, ids, { allowPrivateNetwork: config(env).allowPrivateNetwork, connections, afterClaim: findLostMessages }).then(
    () => true,
    (error) => {
      // Thrown only before anything was claimed (deliver.ts): the messages come again.
      console.error(JSON.stringify({ msg: "delivery batch not claimed; retrying it", size: ids.length, error: String(error) }));
      return false;
    },
  );
  // Unclaimed ids were duplicates or already done, or came early and were sent again for the rest of their wait.
  if (delivered) batch.ackAll();
  else batch.retryAll({ delaySeconds: 5 });
}
