/**
 * @module What happens to new deliveries once ingest has committed them: the one place the low-latency
 * fast path plugs in (ARCHITECTURE.md, "First attempts"). Today every first attempt goes on the queue; the
 * delivery path may instead start some of them here and leave the rest, and every retry, to the queue.
 */
import { enqueueDeliveries } from "../queue/delivery-queue";

/**
 * Called once per shared ingest write, after the commit, with its `queued` deliveries. Never throws: the
 * rows carry `enqueued_at`, so anything not dispatched is found by the sweeper after its grace period.
 */
export async function dispatchFirstAttempts(env: Env, deliveryIds: readonly string[]): Promise<void> {
  await enqueueDeliveries(env, deliveryIds);
}
