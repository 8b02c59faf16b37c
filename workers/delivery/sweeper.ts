/**
 * @module The sweeper: D1 is the truth, so anything due that no queue message is carrying gets one again —
 * messages lost on a crash or a local restart, a failed `sendBatch`, waits longer than the queue's 12 h,
 * and sends whose lease lapsed because the sender died.
 */
import { and, asc, eq, inArray, lt, lte, or } from "drizzle-orm";
import { config } from "../config";
import { chunk, database } from "../db/client";
import { deliveries } from "../db/schema";
import { enqueueDeliveries } from "../queue/delivery-queue";

const SWEEP_LIMIT = 5_000;

export async function sweepDueDeliveries(env: Env, now = Date.now()): Promise<{ requeued: number }> {
  const db = database(env);
  // Overdue by the grace period and not enqueued within it: a message, if any, would have arrived.
  const stale = new Date(now - config(env).sweepGraceMs);
  const due = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      or(
        and(inArray(deliveries.status, ["queued", "retrying"]), lte(deliveries.nextAttemptAt, stale), lte(deliveries.enqueuedAt, stale)),
        and(eq(deliveries.status, "sending"), lt(deliveries.leaseUntil, new Date(now))),
      ),
    )
    .orderBy(asc(deliveries.nextAttemptAt))
    .limit(SWEEP_LIMIT)
    .all();
  const ids = due.map((row) => row.id);
  for (const part of chunk(ids, 90)) {
    await db.update(deliveries).set({ enqueuedAt: new Date(now) }).where(inArray(deliveries.id, part));
  }
  await enqueueDeliveries(env, ids);
  if (ids.length > 0) console.log(JSON.stringify({ msg: "sweeper re-enqueued deliveries", count: ids.length }));
  return { requeued: ids.length };
}
