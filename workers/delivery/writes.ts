/**
 * @module The delivery path's writes to D1, each one statement however many deliveries it covers: the
 * claim, the state changes a batch decides, and the attempts it made. The per-delivery values travel as one
 * JSON parameter read with `json_each`, so a batch is bounded neither by D1's 100 bound parameters nor by
 * one statement per delivery (D1 runs one query at a time: statements per delivery are the deployment's ceiling).
 *
 * Every change is guarded. One made by a lease holder (`{ lease }`) applies only while that lease is held, so
 * a sender whose lease lapsed writes nothing; one made without a claim (`{ readAt }`) applies only to the row
 * as it was read, still claimable, so it never overwrites what a sender did meanwhile.
 */
import { getTableColumns, type Column } from "drizzle-orm";
import { attempts, deliveries, type Attempt, type Delivery } from "../db/schema";
import { attemptFacts, upsertRollupsSql } from "../db/stats-rollups";

/**
 * Longest a send can take once it has a connection (the endpoint timeout's upper bound); the lease and the
 * slow lane's promises are counted in these.
 */
const MAX_SEND_MS = 30_000;
/** Bookkeeping after a batch's last send: recording it, its queue message, the DO's outcome. */
const LEASE_MARGIN_MS = 30_000;

/**
 * How long a claim of `count` deliveries sharing `connections` holds its lease: the last of them waits for
 * ⌈count / connections⌉ - 1 sends before it, sends for one more, and is recorded (ARCHITECTURE.md, "Six connections").
 */
export function leaseMsFor(count: number, connections: number): number {
  return Math.ceil(Math.max(count, 1) / connections) * MAX_SEND_MS + LEASE_MARGIN_MS;
}

/**
 * How early a message may claim: the Worker's clock only moves with I/O, so `now` can trail real time a
 * little. A message that comes earlier than this (the local queue hands delayed messages out up to a second
 * early) claims nothing and is sent again for the rest of the wait, so a receiver's `Retry-After` is kept.
 */
export const EARLY_TOLERANCE_MS = 100;

/**
 * Claimable at `now` (milliseconds, bound as `?{now}`): due and waiting, or `sending` with its lease lapsed.
 * The unary `+` keeps SQLite from planning these terms on `deliveries_status_next_attempt_at_idx`, which
 * walks the whole backlog; the rows are found by id (query-plans.test.ts).
 */
const claimableSql = (now: string, dueBy: string) =>
  `((+deliveries.status in ('queued', 'retrying') and +deliveries.next_attempt_at <= ${dueBy}) or (+deliveries.status = 'sending' and +deliveries.lease_until < ${now}))`;

export type Claim = { id: string; attemptCount: number; scheduleStep: number; leaseUntil: Date };

/**
 * Moves every claimable delivery of `ids` to `sending` with one lease, counting the attempt it is for
 * (`attempt_count` and the schedule's `schedule_step`): a send whose result is never recorded has still used
 * it. Whoever's UPDATE matches holds the delivery; a duplicate or stale message matches nothing.
 */
export function claimStatement(db: D1Database, ids: readonly string[], now: number, leaseMs: number): D1PreparedStatement {
  return db
    .prepare(
      `update deliveries set status = 'sending', attempt_count = attempt_count + 1, schedule_step = schedule_step + 1, lease_until = ?1, updated_at = ?2
       where id in (select value from json_each(?3)) and ${claimableSql("?2", "?4")}
       returning id, attempt_count as attemptCount, schedule_step as scheduleStep, lease_until as leaseUntil`,
    )
    .bind(now + leaseMs, now, JSON.stringify(ids), now + EARLY_TOLERANCE_MS);
}

export function claimsOf(result: D1Result): Claim[] {
  return (result.results as { id: string; attemptCount: number; scheduleStep: number; leaseUntil: number }[]).map((row) => ({ ...row, leaseUntil: new Date(row.leaseUntil) }));
}

/** What a change may only overwrite: the row while this lease holds it, or the row as read, still claimable. */
type Guard = { lease: Date } | { readAt: Date };
export type DeliveryChange = { id: string; guard: Guard; set: Partial<Delivery> };

const deliveryColumns = getTableColumns(deliveries) as Record<keyof Delivery, Column>;

/**
 * One UPDATE … FROM json_each for all `changes` (each sets only the columns it names); its rows are the ids
 * it changed. A change whose guard no longer holds changes nothing.
 */
export function changeStatement(db: D1Database, changes: readonly DeliveryChange[], now: number): D1PreparedStatement {
  const keys = [...new Set(changes.flatMap((change) => Object.keys(change.set)))] as (keyof Delivery)[];
  const assignments = keys.map((key) => {
    const name = deliveryColumns[key].name;
    return `${name} = case when json_type(j.value, '$.set.${key}') is null then deliveries.${name} else j.value ->> '$.set.${key}' end`;
  });
  const payload = changes.map(({ id, guard, set }) => ({
    id,
    ...("lease" in guard ? { lease: guard.lease.getTime() } : { readAt: guard.readAt.getTime() }),
    set: Object.fromEntries(Object.entries(set).map(([key, value]) => [key, driverValue(deliveryColumns[key as keyof Delivery], value)])),
  }));
  return db
    .prepare(
      `update deliveries set ${assignments.join(", ")}
       from json_each(?1) as j
       where deliveries.id = j.value ->> '$.id' and (
         (deliveries.status = 'sending' and deliveries.lease_until = j.value ->> '$.lease')
         or (deliveries.updated_at = j.value ->> '$.readAt' and ${claimableSql("?2", "?3")})
       )
       returning deliveries.id as id`,
    )
    .bind(JSON.stringify(payload), now, now + EARLY_TOLERANCE_MS);
}

export const changedIds = (result: D1Result) => new Set((result.results as { id: string }[]).map((row) => row.id));

const attemptColumns = Object.entries(getTableColumns(attempts)) as [keyof Attempt, Column][];

/**
 * The attempts, each inserted only while its delivery is still `sending` under the lease that made it:
 * a stale sender's attempt is not recorded (and `(delivery_id, attempt)` is unique besides).
 */
export function insertAttemptsStatement(db: D1Database, made: readonly { row: Attempt; lease: Date }[]): D1PreparedStatement {
  const payload = made.map(({ row, lease }) => ({ values: attemptColumns.map(([key, column]) => driverValue(column, row[key])), lease: lease.getTime() }));
  const deliveryIdAt = attemptColumns.findIndex(([key]) => key === "deliveryId");
  return db
    .prepare(
      `insert into attempts (${attemptColumns.map(([, column]) => column.name).join(", ")})
       select ${attemptColumns.map((_, i) => `j.value ->> '$.values[${i}]'`).join(", ")}
       from json_each(?1) as j
       where exists (select 1 from deliveries where deliveries.id = j.value ->> '$.values[${deliveryIdAt}]' and deliveries.status = 'sending' and deliveries.lease_until = j.value ->> '$.lease')`,
    )
    .bind(JSON.stringify(payload));
}

/**
 * The `/stats` rollups of the attempts just inserted (by id: a stale sender's were not) and of what they made
 * of their deliveries, so it belongs after `changeStatement` in the same batch.
 */
export function countAttemptsStatement(db: D1Database, attemptIds: readonly string[]): D1PreparedStatement {
  return db.prepare(COUNT_ATTEMPTS_SQL).bind(JSON.stringify(attemptIds));
}

const COUNT_ATTEMPTS_SQL = upsertRollupsSql(
  "attempts",
  `select ${attemptFacts(
    { projectId: "a.project_id", applicationId: "d.application_id", at: "a.started_at" },
    { succeeded: "coalesce(json_extract(a.response, '$.status') between 200 and 299, 0)", durationMs: "a.duration_ms", deliveryFailed: "d.status = 'failed'" },
  )}
  from attempts a join deliveries d on d.id = a.delivery_id
  where a.id in (select value from json_each(?1))`,
);

function driverValue(column: Column, value: unknown): unknown {
  return value === null || value === undefined ? null : column.mapToDriverValue(value);
}
