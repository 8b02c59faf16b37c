/**
 * @module What happens to new deliveries once ingest has committed them (ARCHITECTURE.md, "First attempts").
 * A shared write with a few deliveries sends them itself, right after the commit, through the one delivery
 * path: at low load an event arrives without waiting for the queue's batch. A write with more goes on the
 * queue, whose batches are the cheap way to send many (one read, claim and write per batch); so does every
 * retry, and anything the fast path could not finish.
 */
import { WEBHOOK_CONNECTIONS } from "../outbound/connection-limiter";
import { enqueueDeliveries } from "../queue/delivery-queue";

/** The delivery path's fast path, given by the Worker's entry (ingest does not depend on delivery). */
export type SendFirstAttempts = (env: Env, deliveryIds: readonly string[]) => Promise<void>;

/** The most first attempts a write sends itself: one connection each, so none waits for another. */
const FAST_PATH_MAX_DELIVERIES = WEBHOOK_CONNECTIONS;

/**
 * Called once per shared ingest write, after the commit, with its `queued` deliveries. Never throws: the
 * rows carry `enqueued_at`, so anything neither sent nor enqueued is found by the sweeper.
 */
export async function dispatchFirstAttempts(env: Env, deliveryIds: readonly string[], sendFirstAttempts?: SendFirstAttempts): Promise<void> {
  if (deliveryIds.length === 0) return;
  if (!sendFirstAttempts || deliveryIds.length > FAST_PATH_MAX_DELIVERIES) return void (await enqueueDeliveries(env, deliveryIds));
  try {
    await sendFirstAttempts(env, deliveryIds);
  } catch (error) {
    // It throws only before anything was claimed: the queue carries them instead.
    console.error(JSON.stringify({ msg: "fast path not started; enqueuing", count: deliveryIds.length, error: String(error) }));
    await enqueueDeliveries(env, deliveryIds);
  }
}
