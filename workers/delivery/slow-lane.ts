/**
 * @module The slow lane's sender: the endpoint DO's alarm hands it the ids waiting in the lane, and it claims
 * and sends them through the one delivery path, like the consumer does.
 */
import { config } from "../config";
import { ConnectionLimiter } from "../outbound/connection-limiter";
import { deliverBatch } from "./deliver";

/**
 * Bounds when a lane hand-off looks lost to the sweeper: a lane round sends this many at once, and a round
 * lasts at most the longest timeout (30 s) plus the bookkeeping around it.
 */
export const SLOW_LANE_CONCURRENCY = 10;
const SLOW_LANE_ROUND_MS = 40_000;

/** When the lane will have claimed a delivery with `ahead` deliveries before it: what its hand-off promises. */
export function slowLanePickupBy(ahead: number, now: number): number {
  return now + (Math.floor(ahead / SLOW_LANE_CONCURRENCY) + 1) * SLOW_LANE_ROUND_MS;
}

export async function sendSlowLaneRound(env: Env, ids: readonly string[]): Promise<void> {
  // Claimed like any send, so a copy the sweeper re-queued meanwhile is not sent twice.
  await deliverBatch(env, ids, { allowPrivateNetwork: config(env).allowPrivateNetwork, inSlowLane: true, connections: new ConnectionLimiter() }).catch((error) =>
    console.error(JSON.stringify({ msg: "slow-lane round not claimed; the sweeper will re-enqueue it", count: ids.length, error: String(error) })),
  );
}
