/**
 * @module How `stats_rollups` (see schema.ts) is kept: each write that creates something `/stats` counts adds
 * one statement to its own D1 batch, which sums what it wrote per minute and per hour, for the project and
 * for the application, and adds that to the rows. A batch is one transaction, so a count is written exactly
 * when what it counts is, and a write of N rows costs one statement and a few rows, not N of either.
 */
import { LATENCY_BIN_FLOORS_MS, latencyBinColumn } from "./schema";

/** What a write tells the rollups about each row it wrote: a SELECT list entry per field, as SQL. */
type Fact = {
  projectId: string;
  /** Null: no application, counted only in the project's rows. */
  applicationId: string;
  /** Epoch ms that places it in a minute and an hour. */
  at: string;
  events?: string;
  deliveries?: string;
  deliveriesFailed?: string;
  /** For an attempt: 1, whether it succeeded, and its duration. */
  attempt?: { succeeded: string; durationMs: string };
};

/** A SELECT list of one fact, in the columns `upsertRollupsSql` sums. */
export function factColumns(fact: Fact): string {
  return [
    `${fact.projectId} as project_id`,
    `${fact.applicationId} as application_id`,
    `${fact.at} as at`,
    `${fact.events ?? "0"} as events`,
    `${fact.deliveries ?? "0"} as deliveries`,
    `${fact.deliveriesFailed ?? "0"} as deliveries_failed`,
    `${fact.attempt ? "1" : "0"} as attempts`,
    `${fact.attempt?.succeeded ?? "0"} as attempts_succeeded`,
    `${fact.attempt?.durationMs ?? "null"} as duration_ms`,
  ].join(", ");
}

const SPANS_MINUTES = [1, 60] as const;
const binColumns = LATENCY_BIN_FLOORS_MS.map(latencyBinColumn);
const binCounts = LATENCY_BIN_FLOORS_MS.map((floor, i) => {
  const next = LATENCY_BIN_FLOORS_MS[i + 1];
  return `count(nullif(f.duration_ms >= ${floor}${next === undefined ? "" : ` and f.duration_ms < ${next}`}, 0))`;
});
const summed = ["events", "deliveries", "deliveries_failed", "attempts", "attempts_succeeded", "attempts_failed", ...binColumns];

/**
 * The upsert that adds `facts` (a SELECT of `factColumns` rows, which may use the statement's parameters) to
 * the minute and hour rows of their project and of their application.
 */
export function upsertRollupsSql(facts: string): string {
  // No CASE: wrangler's SQL splitter takes CASE … END for a block and would not split the migration's statements.
  const applicationId = "iif(scope.per_application, f.application_id, '')";
  const start = "f.at - f.at % (span.minutes * 60000)";
  return `insert into stats_rollups (project_id, application_id, span_minutes, start, ${summed.join(", ")})
select f.project_id, ${applicationId}, span.minutes, ${start},
  sum(f.events), sum(f.deliveries), sum(f.deliveries_failed), sum(f.attempts), sum(f.attempts_succeeded), sum(f.attempts) - sum(f.attempts_succeeded),
  ${binCounts.join(",\n  ")}
from (${facts}) f
join (${SPANS_MINUTES.map((minutes) => `select ${minutes} as minutes`).join(" union all ")}) span
join (select 0 as per_application union all select 1) scope on scope.per_application = 0 or f.application_id is not null
where true
group by f.project_id, ${applicationId}, span.minutes, ${start}
on conflict (project_id, application_id, span_minutes, start) do update set
  ${summed.map((column) => `${column} = ${column} + excluded.${column}`).join(",\n  ")}`;
}
