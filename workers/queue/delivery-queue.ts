/**
 * @module The delivery queue's message type and its producer. Messages carry ids only: D1 holds the truth,
 * and a lost message is re-sent by the sweeper.
 */
import { chunk } from "../db/client";

export type DeliveryMessage = { deliveryId: string };

/** Cloudflare Queues delays messages by 12 h at most; longer waits are left to the sweeper. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
const SEND_BATCH_LIMIT = 100;

/**
 * Sends one message per delivery. Never throws: a message that fails to send is found by the sweeper
 * once its delivery is overdue, so the caller's D1 write is what counts.
 */
export async function enqueueDeliveries(env: Pick<Env, "DELIVERY_QUEUE">, deliveryIds: readonly string[], delaySeconds = 0): Promise<boolean> {
  if (deliveryIds.length === 0) return true;
  const delay = Math.min(Math.ceil(delaySeconds), MAX_QUEUE_DELAY_SECONDS);
  try {
    for (const ids of chunk(deliveryIds, SEND_BATCH_LIMIT)) {
      await env.DELIVERY_QUEUE.sendBatch(
        ids.map((deliveryId) => ({ body: { deliveryId } satisfies DeliveryMessage, contentType: "json" as const })),
        delay > 0 ? { delaySeconds: delay } : undefined,
      );
    }
    return true;
  } catch (error) {
    console.error(JSON.stringify({ msg: "enqueue failed; the sweeper will pick these up", count: deliveryIds.length, error: String(error) }));
    return false;
  }
}
