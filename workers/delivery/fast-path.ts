/**
 * @module First attempts sent by the ingest request that committed them, after its answer (`waitUntil`).
 * Production gives that work 30 s after the answer, so deliveries to endpoints whose timeout could outlast
 * it go on the queue instead; a request that dies mid-send leaves a lease that lapses, like any sender.
 */
import { config } from "../config";
import { ConnectionLimiter } from "../outbound/connection-limiter";
import { deliverBatch } from "./deliver";

/** With signing, recording and the DO's answers around it, a send this long still ends within the 30 s. */
const FAST_PATH_MAX_TIMEOUT_MS = 20_000;

export async function sendFirstAttempts(env: Env, deliveryIds: readonly string[]): Promise<void> {
  await deliverBatch(env, deliveryIds, { allowPrivateNetwork: config(env).allowPrivateNetwork, connections: new ConnectionLimiter(), maxTimeoutMs: FAST_PATH_MAX_TIMEOUT_MS });
}
