/**
 * @module What happens to new deliveries once ingest has committed them (ARCHITECTURE.md, "First attempts").
 * A shared write with a few deliveries hands them to the fast path (delivery/fast-path.ts, one set of
 * passes per endpoint), which sends them right after the commit through the one delivery path: at low load
 * an event arrives without waiting for the queue's batch. A write with more goes on the queue, whose
 * batches are the cheap way to send many (one read, claim and write per batch); so does every retry,
 * whatever the fast path is too busy to take, and anything it could not finish.
 */
import { WEBHOOK_CONNECTIONS } from "../outbound/connection-limiter";
import { enqueueDeliveries } from "../queue/delivery-queue";

export type FirstAttempt = { id: string; endpointId: string };

/**
 * The delivery path's fast path, given by the Worker's entry (ingest does not depend on delivery). Answers
 * at once with the ids it is too busy to take, and `sending` settles once it is done with the rest; never
 * throws or rejects.
 */
export type SendFirstAttempts = (env: Env, firstAttempts: readonly FirstAttempt[]) => { left: string[]; sending: Promise<void> };

/** The most first attempts a write sends itself: one connection each, so none waits for another. */
const FAST_PATH_MAX_DELIVERIES = WEBHOOK_CONNECTIONS;

/**
 * Called once per shared ingest write, after the commit, with its `queued` deliveries. Never throws: the
 * rows carry `enqueued_at`, so anything neither sent nor enqueued is found by the sweeper.
 */
export async function dispatchFirstAttempts(env: Env, firstAttempts: readonly FirstAttempt[], sendFirstAttempts?: SendFirstAttempts): Promise<void> {
  if (firstAttempts.length === 0) return;
  if (!sendFirstAttempts || firstAttempts.length > FAST_PATH_MAX_DELIVERIES) return void (await enqueueDeliveries(env, firstAttempts.map((attempt) => attempt.id)));
  const { left, sending } = sendFirstAttempts(env, firstAttempts);
  await Promise.all([left.length > 0 ? enqueueDeliveries(env, left) : undefined, sending]);
}
