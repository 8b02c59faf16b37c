/**
 * @module Retention, run by the scheduled handler: deletes each project's events older than its horizon, with
 * their deliveries, attempts and R2 bodies, its finished alert emails and its `/stats` rollups past the same
 * horizon. An event with a
 * pending delivery (queued, sending, retrying, paused) is kept whole until the delivery finishes or its
 * endpoint is deleted (which fails it). D1 runs one query at a time, so the work is cut into small statements
 * (at most `STATEMENT_ROWS` rows each) that ingest can slip between, it rests as long as each step took, and a
 * run stops at its time budget; the project's `retentionCursor` lets the next run resume after the last event
 * looked at.
 */
import { and, asc, eq, exists, gt, inArray, isNull, lt, not, sql } from "drizzle-orm";
import { alias, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { retentionMs } from "../config";
import { deleteBodies, eventBodyObject, eventBodyRefPrefix, hasBodyInR2, responseBodyKey } from "../db/bodies";
import { database, type Database } from "../db/client";
import { idFloor } from "../db/ids";
import { PENDING_DELIVERY_STATUSES, alerts, attempts, deliveries, events, projects, statsRollups } from "../db/schema";

/** Rows one DELETE removes at most, so no statement holds the database for long. */
const STATEMENT_ROWS = 2_000;
/** Events looked at per step; their deliveries and attempts are then deleted in statements of STATEMENT_ROWS. */
const EVENTS_PER_STEP = 500;
/** Well inside a cron invocation's limits; what is left waits for the next minute. */
const RUN_BUDGET_MS = 10_000;
const FINISHED_ALERT_STATUSES = ["sent", "skipped", "failed", "unknown"] as const;

export type RetentionResult = { events: number; deliveries: number; attempts: number; alerts: number; statsRollups: number; bodies: number; finished: boolean };

export async function applyRetention(env: Env, options: { now?: number; budgetMs?: number } = {}): Promise<RetentionResult> {
  const now = options.now ?? Date.now();
  const deadline = Date.now() + (options.budgetMs ?? RUN_BUDGET_MS);
  const db = database(env);
  const result: RetentionResult = { events: 0, deliveries: 0, attempts: 0, alerts: 0, statsRollups: 0, bodies: 0, finished: false };
  // A deleted project's rows are its delete job's to remove.
  const all = await db
    .select({ id: projects.id, retentionDays: projects.retentionDays, cursor: projects.retentionCursor })
    .from(projects)
    .where(isNull(projects.deletedAt))
    .orderBy(asc(projects.id))
    .all();
  for (const project of all) {
    const horizon = now - retentionMs(env, project);
    result.alerts += await deleteFinishedAlerts(db, project.id, horizon, deadline);
    result.statsRollups += await deleteOldStatsRollups(db, project.id, horizon, deadline);
    let cursor = project.cursor;
    while (Date.now() < deadline) {
      const stepStarted = Date.now();
      const step = await deleteOldEvents(env, db, project.id, horizon, cursor, result);
      cursor = step.lastSeen;
      await db.update(projects).set({ retentionCursor: cursor }).where(eq(projects.id, project.id));
      if (cursor === null) break;
      // As long again idle: retention takes at most half of the database's (serial) time, so ingest and
      // delivery queries never wait behind more than one step.
      await new Promise((resolve) => setTimeout(resolve, Math.min(Date.now() - stepStarted, Math.max(0, deadline - Date.now()))));
    }
    if (Date.now() >= deadline) break;
  }
  result.finished = Date.now() < deadline;
  if (result.events + result.alerts + result.statsRollups > 0) console.log(JSON.stringify({ msg: "retention deleted old data", ...result }));
  return result;
}

/**
 * One step: the next events past the horizon after `cursor`, deleted unless pending. Returns the last event
 * looked at, or null when the pass reached the horizon (the next pass starts again from the oldest).
 */
async function deleteOldEvents(env: Env, db: Database, projectId: string, horizon: number, cursor: string | null, result: RetentionResult) {
  const candidates = await db
    .select({ id: events.id, pending: hasPendingDelivery(db, events.id) })
    .from(events)
    .where(and(eq(events.projectId, projectId), lt(events.id, idFloor("event", horizon)), cursor ? gt(events.id, cursor) : undefined))
    .orderBy(asc(events.id))
    .limit(EVENTS_PER_STEP)
    .all();
  if (candidates.length === 0) return { lastSeen: null };
  const ids = candidates.filter((row) => !row.pending).map((row) => row.id);
  if (ids.length > 0) {
    // A JSON array is one bound parameter, however many ids (D1 allows 100 per statement).
    const doomed = sql`(select value from json_each(${JSON.stringify(ids)}))`;
    const doomedDeliveries = () =>
      db
        .select({ id: deliveries.id })
        .from(deliveries)
        .where(and(inArray(deliveries.eventId, doomed), not(hasPendingDelivery(db, deliveries.eventId))));
    const keys: string[] = [];
    // Children first; each statement checks again that nothing became pending (a resend) since the select.
    for (let deleted = STATEMENT_ROWS; deleted === STATEMENT_ROWS; ) {
      const rows = await db
        .delete(attempts)
        .where(inArray(attempts.id, db.select({ id: attempts.id }).from(attempts).where(inArray(attempts.deliveryId, doomedDeliveries())).limit(STATEMENT_ROWS)))
        .returning({ id: attempts.id, response: attempts.response });
      for (const row of rows) if (hasBodyInR2(row.response)) keys.push(responseBodyKey(row.id));
      [deleted, result.attempts] = [rows.length, result.attempts + rows.length];
    }
    for (let deleted = STATEMENT_ROWS; deleted === STATEMENT_ROWS; ) {
      const rows = await db
        .delete(deliveries)
        .where(inArray(deliveries.id, doomedDeliveries().limit(STATEMENT_ROWS)))
        .returning({ id: deliveries.id });
      [deleted, result.deliveries] = [rows.length, result.deliveries + rows.length];
    }
    const gone = await db
      .delete(events)
      .where(and(inArray(events.id, doomed), not(hasPendingDelivery(db, events.id))))
      .returning({ id: events.id, body: events.body });
    result.events += gone.length;
    keys.push(...(await unreferencedBodyObjects(db, projectId, gone.map((row) => row.body))));
    await deleteBodies(env, keys);
    result.bodies += keys.length;
  }
  return { lastSeen: candidates.at(-1)!.id };
}

/** The R2 objects these deleted events' bodies were in that no remaining event still points into. */
export async function unreferencedBodyObjects(db: Database, projectId: string, bodies: string[]): Promise<string[]> {
  const objects = new Map<string, { key: string; idsFrom: string; idsTo: string; prefix: string }>();
  for (const body of bodies) {
    const object = eventBodyObject(body);
    if (object) objects.set(object.key, { ...object, prefix: eventBodyRefPrefix(object.key) });
  }
  if (objects.size === 0) return [];
  // One statement for all of them. Only events of the same ingest call can share an object, and those share
  // one millisecond's ids, so each check is a short range on the (project_id, id) index.
  const rows = await db.all<{ key: string }>(sql`
    select o.value ->> 'key' as key from json_each(${JSON.stringify([...objects.values()])}) o
    where not exists (
      select 1 from ${events} e
      where e.project_id = ${projectId} and e.id >= o.value ->> 'idsFrom' and e.id < o.value ->> 'idsTo'
        and substr(e.body, 1, length(o.value ->> 'prefix')) = o.value ->> 'prefix'
    )`);
  return rows.map((row) => row.key);
}

const sibling = alias(deliveries, "sibling");
/** Correlated on the event id, so it is a lookup on deliveries_event_id_project_id_id_status_idx however many deliveries are pending. */
const hasPendingDelivery = (db: Database, eventId: SQLiteColumn) =>
  exists(
    db
      .select({ one: sql`1` })
      .from(sibling)
      .where(and(eq(sibling.eventId, eventId), inArray(sibling.status, PENDING_DELIVERY_STATUSES))),
  );

/** Alert emails that are done with (sent, skipped or given up on) and older than the project's horizon. */
async function deleteFinishedAlerts(db: Database, projectId: string, horizon: number, deadline: number): Promise<number> {
  let total = 0;
  for (let deleted = STATEMENT_ROWS; deleted === STATEMENT_ROWS && Date.now() < deadline; total += deleted) {
    const old = db
      .select({ id: alerts.id })
      .from(alerts)
      .where(and(eq(alerts.projectId, projectId), lt(alerts.id, idFloor("alert", horizon)), inArray(alerts.status, FINISHED_ALERT_STATUSES)))
      .limit(STATEMENT_ROWS);
    deleted = (await db.delete(alerts).where(inArray(alerts.id, old)).returning({ id: alerts.id })).length;
  }
  return total;
}

/**
 * The project's rollup rows (its own and its applications', minutes and hours) that ended before the
 * horizon. What they counted is deleted by then, except events kept for a pending delivery: `/stats` cannot
 * reach before `retainedSince` anyway.
 */
async function deleteOldStatsRollups(db: Database, projectId: string, horizon: number, deadline: number): Promise<number> {
  let total = 0;
  for (let deleted = STATEMENT_ROWS; deleted === STATEMENT_ROWS && Date.now() < deadline; total += deleted) {
    // The range on start (no row shorter than a minute) is what the index seeks; the span's own end is checked on it.
    const old = sql`select rowid from ${statsRollups} where ${statsRollups.projectId} = ${projectId} and ${statsRollups.start} <= ${horizon - 60_000}
      and ${statsRollups.start} + ${statsRollups.spanMinutes} * 60000 <= ${horizon} limit ${STATEMENT_ROWS}`;
    deleted = (await db.run(sql`delete from ${statsRollups} where rowid in (${old})`)).meta.changes;
  }
  return total;
}
