/**
 * @module Deliveries held behind an open circuit. Held, a delivery has no queue message: it is `queued` or
 * `retrying` with `held_at` set and `next_attempt_at` at the backstop (the longest hold), so no stray message
 * can claim it and the sweeper leaves it alone until then. The endpoint's DO releases them when its probe
 * succeeds (and one at a time as probe candidates), in bounded chunks: one UPDATE … LIMIT and one enqueue
 * each. A release whose message is lost is an ordinary due delivery the sweeper finds; a DO that never
 * releases is covered by the backstop.
 */
import { and, eq, inArray, isNotNull } from "drizzle-orm";
import { database } from "../db/client";
import { deliveries } from "../db/schema";
import { enqueueDeliveries } from "../queue/delivery-queue";

/** Held longer than this, a delivery is due again and comes back through the sweeper to ask once more. */
export const MAX_HOLD_MS = 60 * 60_000;
/** Deliveries released by one statement (and one enqueue). */
export const RELEASE_CHUNK = 500;

/** Makes up to `limit` held deliveries of the endpoint due now and enqueues them; returns how many. */
export async function releaseHeldDeliveries(env: Env, endpointId: string, limit = RELEASE_CHUNK, now = Date.now()): Promise<number> {
  const db = database(env);
  const held = and(eq(deliveries.endpointId, endpointId), isNotNull(deliveries.heldAt), inArray(deliveries.status, ["queued", "retrying"]));
  const released = await db
    .update(deliveries)
    .set({ heldAt: null, nextAttemptAt: new Date(now), enqueuedAt: new Date(now), updatedAt: new Date(now) })
    .where(and(inArray(deliveries.id, db.select({ id: deliveries.id }).from(deliveries).where(held).limit(limit)), held))
    .returning({ id: deliveries.id });
  await enqueueDeliveries(env, released.map((row) => row.id));
  return released.length;
}
