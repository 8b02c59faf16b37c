/**
 * @module The delivery queue's message types and its producer. Messages carry ids only: D1 holds the truth,
 * and a lost message is re-sent by the sweeper (a delivery) or the cron's job restart (a job step).
 */
import { chunk } from "../lib/chunk";

/**
 * A few deliveries due at the same time. `deliveryId`: one, as messages were before; still read, so those
 * sent before a deploy are delivered after it.
 */
export type DeliveryMessage = { deliveryIds: string[] } | { deliveryId: string };
/**
 * Sent by the sweeper through the delivery queue itself. It waits in the same backlog as every delivery
 * message, so when it arrives, every message that was ready well before it has had its turn.
 */
type QueueHeartbeat = { heartbeatSentAt: number };
/** The next step of a bulk job (workers/jobs/); the job's row says what it is and where it stands. */
export type JobMessage = { jobId: string };
export type QueueMessage = DeliveryMessage | JobMessage | QueueHeartbeat;

export const isJobMessage = (body: unknown): body is JobMessage => typeof (body as Partial<JobMessage> | null)?.jobId === "string";

/** The delivery ids a message carries; none for anything else (or anything malformed). */
export function deliveryIdsOf(body: unknown): string[] {
  const message = body as { deliveryIds?: unknown; deliveryId?: unknown } | null;
  if (Array.isArray(message?.deliveryIds)) return message.deliveryIds.filter((id): id is string => typeof id === "string");
  return typeof message?.deliveryId === "string" ? [message.deliveryId] : [];
}

/**
 * Deliveries one message carries at most. A consumer batch (`max_batch_size = 10` messages) is then at most
 * 50 deliveries, the batch the lease arithmetic is made for (ARCHITECTURE.md, "Six connections"); and a
 * message costs its write, read and ack once for up to 5 deliveries, in queue operations as in the local
 * broker's timers (one per message in flight).
 */
const DELIVERIES_PER_MESSAGE = 5;
/** Cloudflare Queues delays messages by 12 h at most; longer waits are left to the sweeper. */
const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
const SEND_BATCH_LIMIT = 100;

/**
 * The deliveries, due now, 5 to a message. Never throws: a message that fails to send is found by the
 * sweeper once its delivery is overdue, so the caller's D1 write is what counts.
 */
export async function enqueueDeliveries(env: Pick<Env, "DELIVERY_QUEUE">, deliveryIds: readonly string[]): Promise<boolean> {
  const now = Date.now();
  return enqueueDeliveriesAt(env, deliveryIds.map((deliveryId) => ({ deliveryId, at: now })), now);
}

/**
 * The deliveries, each visible at its own time: those due in the same second share messages, 5 to a message
 * (one `sendBatch` per 100 messages). A wait beyond the queue's 12 h gets no message: the sweeper enqueues
 * it when it falls due. Never throws.
 */
export async function enqueueDeliveriesAt(env: Pick<Env, "DELIVERY_QUEUE">, due: readonly { deliveryId: string; at: number }[], now = Date.now()): Promise<boolean> {
  const byDelay = new Map<number, string[]>();
  for (const { deliveryId, at } of due) {
    // Rounded up: a message arriving before its time would only be turned back.
    const delaySeconds = Math.max(0, Math.ceil((at - now) / 1000));
    if (delaySeconds > MAX_QUEUE_DELAY_SECONDS) continue;
    const ids = byDelay.get(delaySeconds);
    if (ids) ids.push(deliveryId);
    else byDelay.set(delaySeconds, [deliveryId]);
  }
  const messages = [...byDelay].flatMap(([delaySeconds, ids]) =>
    chunk(ids, DELIVERIES_PER_MESSAGE).map((deliveryIds) => ({ body: { deliveryIds } satisfies DeliveryMessage, contentType: "json" as const, ...(delaySeconds > 0 && { delaySeconds }) })),
  );
  if (messages.length === 0) return true;
  try {
    for (const part of chunk(messages, SEND_BATCH_LIMIT)) await env.DELIVERY_QUEUE.sendBatch(part);
    return true;
  } catch (error) {
    console.error(JSON.stringify({ msg: "enqueue failed; the sweeper will pick these up", count: due.length, error: String(error) }));
    return false;
  }
}

/** Never throws: a heartbeat that is not sent only delays the detection of lost messages to the next sweep. */
export async function sendHeartbeat(env: Pick<Env, "DELIVERY_QUEUE">, sentAt: number): Promise<void> {
  try {
    await env.DELIVERY_QUEUE.send({ heartbeatSentAt: sentAt } satisfies QueueHeartbeat, { contentType: "json" });
  } catch (error) {
    console.error(JSON.stringify({ msg: "queue heartbeat not sent", error: String(error) }));
  }
}

/**
 * Starts (or continues) a bulk job: send it once the batch that recorded the job has committed. Never
 * throws: a job whose message is not sent is restarted by the cron once it has stalled.
 */
export async function enqueueJobStep(env: Pick<Env, "DELIVERY_QUEUE">, jobId: string, delaySeconds = 0): Promise<void> {
  try {
    await env.DELIVERY_QUEUE.send({ jobId } satisfies JobMessage, { contentType: "json", delaySeconds });
  } catch (error) {
    console.error(JSON.stringify({ msg: "job step not enqueued; the cron will restart it", jobId, error: String(error) }));
  }
}
