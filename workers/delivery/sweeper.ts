/**
 * @module The sweeper: D1 is the truth, so anything due that no queue message is carrying gets one again —
 * messages lost on a crash or a local restart, a failed `sendBatch`, waits longer than the queue's 12 h,
 * and sends whose lease lapsed because the sender died. It also keeps `paused` meaning "its endpoint is
 * disabled": a delivery paused by a send or an ingest that raced an enable is queued again.
 *
 * Lost versus waiting in a busy queue: each sweep sends a heartbeat through the delivery queue. It waits in
 * the same backlog as the deliveries, so when the consumer receives it, every message that was ready before
 * it (less a tolerance for out-of-order hand-out) has had its turn; a delivery that was due by then and is
 * still unclaimed has lost its message. A backlog delays the heartbeat as much as it delays the deliveries,
 * so no fixed grace has to guess how busy the queue is. A local runtime also loses its in-memory queue and
 * every sender when it stops: messages sent and leases taken before it started are known lost at once.
 */
import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import { config } from "../config";
import { database, type Database } from "../db/client";
import { chunk } from "../lib/chunk";
import { deliveries, endpoints } from "../db/schema";
import { enqueueDeliveries, sendHeartbeat } from "../queue/delivery-queue";

const SWEEP_LIMIT = 5_000;

/** The cron: what is known lost now, then a heartbeat that will tell what else is. */
export async function sweepDueDeliveries(env: Env, now = Date.now()): Promise<{ requeued: number }> {
  const db = database(env);
  const { sweepGraceMs, localRuntimeStartedAt } = config(env);
  const stale = new Date(now - sweepGraceMs);
  const revived = await revivePausedOfActiveEndpoints(db, stale, now);
  const lapsed = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(eq(deliveries.status, "sending"), lt(deliveries.leaseUntil, new Date(now))))
    .limit(SWEEP_LIMIT)
    .all();
  const orphaned = localRuntimeStartedAt ? await releaseLeasesOfStoppedRuntime(env, localRuntimeStartedAt, now) : [];
  const lost = localRuntimeStartedAt ? await lostMessages(env, { caughtUpTo: 0, runtimeStartedAt: localRuntimeStartedAt, now }) : [];
  const ids = [...new Set([...revived, ...lapsed, ...orphaned].map((row) => row.id).concat(lost))];
  await markEnqueued(env, ids, now);
  await enqueueDeliveries(env, ids);
  await sendHeartbeat(env, now);
  if (ids.length > 0) console.log(JSON.stringify({ msg: "sweeper re-enqueued deliveries", count: ids.length }));
  return { requeued: ids.length };
}

/**
 * Paused deliveries of active endpoints — paused by a send or an ingest that raced an enable — are queued
 * again, at most `SWEEP_LIMIT` per sweep. Found endpoint by endpoint (`endpoints_status_id_idx`, then
 * `deliveries_endpoint_id_status_idx`), so the paused deliveries of disabled endpoints, however many, are
 * never read. An enable's own job re-queues the rest; this only catches what raced it.
 */
async function revivePausedOfActiveEndpoints(db: Database, stale: Date, now: number): Promise<{ id: string }[]> {
  const raced = db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      and(
        inArray(deliveries.endpointId, db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.status, "active"))),
        eq(deliveries.status, "paused"),
        lte(deliveries.updatedAt, stale),
      ),
    )
    .limit(SWEEP_LIMIT);
  return db
    .update(deliveries)
    .set({ status: "queued", nextAttemptAt: new Date(now), enqueuedAt: new Date(now), updatedAt: new Date(now) })
    .where(and(inArray(deliveries.id, raced), eq(deliveries.status, "paused")))
    .returning({ id: deliveries.id });
}

/** Run by the consumer when a heartbeat sent at `heartbeatSentAt` arrives. */
export async function requeueLostDeliveries(env: Env, heartbeatSentAt: number, now = Date.now()): Promise<{ requeued: number }> {
  const ids = await lostMessages(env, { caughtUpTo: heartbeatSentAt - config(env).sweepGraceMs, runtimeStartedAt: config(env).localRuntimeStartedAt, now });
  await markEnqueued(env, ids, now);
  await enqueueDeliveries(env, ids);
  if (ids.length > 0) console.log(JSON.stringify({ msg: "re-enqueued deliveries whose queue message was lost", count: ids.length }));
  return { requeued: ids.length };
}

/**
 * The lost-versus-waiting decision. A due `queued`/`retrying` delivery has lost its message when the queue
 * has handed out everything that was ready before `caughtUpTo` (a heartbeat arrived) and this one was ready
 * by then too — due and enqueued no later — or when its message went into a local queue that has since been
 * restarted. Anything else may still be waiting its turn.
 */
function lostFromQueue({ caughtUpTo, runtimeStartedAt, now }: { caughtUpTo: number; runtimeStartedAt: number | null; now: number }) {
  const readyBefore = (at: number) => and(lte(deliveries.nextAttemptAt, new Date(at)), or(isNull(deliveries.enqueuedAt), lte(deliveries.enqueuedAt, new Date(at))));
  return and(
    inArray(deliveries.status, ["queued", "retrying"]),
    or(readyBefore(caughtUpTo), runtimeStartedAt ? and(lte(deliveries.nextAttemptAt, new Date(now)), lt(deliveries.enqueuedAt, new Date(runtimeStartedAt))) : undefined),
  );
}

/**
 * A local runtime's senders all died with it, so a lease taken before it started is held by nobody: the
 * delivery is made claimable again at once instead of after the lease runs out. (The claim sets
 * `updated_at` when it takes the lease, and nothing else touches a `sending` row.)
 */
async function releaseLeasesOfStoppedRuntime(env: Env, runtimeStartedAt: number, now: number): Promise<{ id: string }[]> {
  return database(env)
    .update(deliveries)
    .set({ status: sql`case when ${deliveries.attemptCount} > 0 then 'retrying' else 'queued' end`, leaseUntil: null, updatedAt: new Date(now) })
    .where(and(eq(deliveries.status, "sending"), lt(deliveries.updatedAt, new Date(runtimeStartedAt))))
    .returning({ id: deliveries.id });
}

async function lostMessages(env: Env, when: Parameters<typeof lostFromQueue>[0]): Promise<string[]> {
  const rows = await database(env).select({ id: deliveries.id }).from(deliveries).where(lostFromQueue(when)).orderBy(asc(deliveries.nextAttemptAt)).limit(SWEEP_LIMIT).all();
  return rows.map((row) => row.id);
}

async function markEnqueued(env: Env, ids: string[], now: number): Promise<void> {
  const db = database(env);
  for (const part of chunk(ids, 90)) await db.update(deliveries).set({ enqueuedAt: new Date(now) }).where(inArray(deliveries.id, part));
}
