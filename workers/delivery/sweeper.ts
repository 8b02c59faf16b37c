/**
 * @module The sweeper: D1 is the truth, so anything due that no queue message is carrying gets one again —
 * messages lost on a crash or a local restart, a failed `sendBatch`, waits longer than the queue's 12 h,
 * and sends whose lease lapsed because the sender died. It also keeps `paused` meaning "its endpoint is
 * disabled": a delivery paused by a send or an ingest that raced an enable is queued again.
 */
import { and, asc, eq, inArray, isNull, lt, lte, or } from "drizzle-orm";
import { config } from "../config";
import { chunk, database } from "../db/client";
import { deliveries, endpoints } from "../db/schema";
import { enqueueDeliveries } from "../queue/delivery-queue";

const SWEEP_LIMIT = 5_000;

export async function sweepDueDeliveries(env: Env, now = Date.now()): Promise<{ requeued: number }> {
  const db = database(env);
  // Overdue by the grace period and not enqueued within it: a message, if any, would have arrived.
  const stale = new Date(now - config(env).sweepGraceMs);
  const revived = await db
    .update(deliveries)
    .set({ status: "queued", nextAttemptAt: new Date(now), enqueuedAt: new Date(now), updatedAt: new Date(now) })
    .where(
      and(
        eq(deliveries.status, "paused"),
        lte(deliveries.updatedAt, stale),
        inArray(deliveries.endpointId, db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.status, "active"))),
      ),
    )
    .returning({ id: deliveries.id });
  const due = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      or(
        and(inArray(deliveries.status, ["queued", "retrying"]), lte(deliveries.nextAttemptAt, stale), or(isNull(deliveries.enqueuedAt), lte(deliveries.enqueuedAt, stale))),
        and(eq(deliveries.status, "sending"), lt(deliveries.leaseUntil, new Date(now))),
      ),
    )
    .orderBy(asc(deliveries.nextAttemptAt))
    .limit(SWEEP_LIMIT)
    .all();
  for (const part of chunk(due.map((row) => row.id), 90)) {
    await db.update(deliveries).set({ enqueuedAt: new Date(now) }).where(inArray(deliveries.id, part));
  }
  const ids = [...revived, ...due].map((row) => row.id);
  await enqueueDeliveries(env, ids);
  if (ids.length > 0) console.log(JSON.stringify({ msg: "sweeper re-enqueued deliveries", count: ids.length }));
  return { requeued: ids.length };
}
