/**
 * @module How `stats_rollups` (see schema.ts) is kept: each write that creates something `/stats` counts adds
 * one statement to its own D1 batch, which sums what it wrote per minute and per hour, for the project and
 * for the application, and adds that to the rows. A batch is one transaction, so a count is written exactly
 * when what it counts is, and a write of N rows costs one statement and a few rows, not N of either.
 */
import { LATENCY_BIN_FLOORS_MS, latencyBinColumn } from "./schema";

/** Where each fact belongs, as SQL over the facts' FROM: its project, its application (null: none), its time in epoch ms. */
type Placed = { projectId: string; applicationId: string; at: string };

/** Ingest's facts: an event, or a delivery. */
export const createdFacts = (placed: Placed, created: { events: string; deliveries: string }) =>
  `${placedColumns(placed)}, ${created.events} as events, ${created.deliveries} as deliveries`;

/** The recorder's facts: an attempt, whether it succeeded, its duration, and whether it ended its delivery failed. */
export const attemptFacts = (placed: Placed, attempt: { succeeded: string; durationMs: string; deliveryFailed: string }) =>
  `${placedColumns(placed)}, ${attempt.succeeded} as succeeded, ${attempt.durationMs} as duration_ms, ${attempt.deliveryFailed} as delivery_failed`;

const placedColumns = ({ projectId, applicationId, at }: Placed) => `${projectId} as project_id, ${applicationId} as application_id, ${at} as at`;

/** Each kind of fact's rollup columns, and what a group of facts adds to each. */
const SUMS = {
  created: { events: "sum(f.events)", deliveries: "sum(f.deliveries)" },
  attempts: {
    attempts: "count(*)",
    attempts_succeeded: "sum(f.succeeded)",
    attempts_failed: "count(*) - sum(f.succeeded)",
    deliveries_failed: "sum(f.delivery_failed)",
    ...Object.fromEntries(
      LATENCY_BIN_FLOORS_MS.map((floor, i) => {
        const next = LATENCY_BIN_FLOORS_MS[i + 1];
        return [latencyBinColumn(floor), `count(nullif(f.duration_ms >= ${floor}${next === undefined ? "" : ` and f.duration_ms < ${next}`}, 0))`];
      }),
    ),
  },
} as const;

const SPANS_MINUTES = [1, 60] as const;

/**
 * The upsert that adds `facts` (a SELECT of `createdFacts` or `attemptFacts` rows, which may use the
 * statement's parameters) to the minute and hour rows of their project and of their application.
 */
export function upsertRollupsSql(kind: keyof typeof SUMS, facts: string): string {
  const sums: Record<string, string> = SUMS[kind];
  const columns = Object.keys(sums);
  // No CASE: wrangler's SQL splitter takes CASE … END for a block and would not split the migration's statements.
  const applicationId = "iif(scope.per_application, f.application_id, '')";
  const start = "f.at - f.at % (span.minutes * 60000)";
  return `insert into stats_rollups (project_id, application_id, span_minutes, start, ${columns.join(", ")})
select f.project_id, ${applicationId}, span.minutes, ${start}, ${Object.values(sums).join(", ")}
from (${facts}) f
join (${SPANS_MINUTES.map((minutes) => `select ${minutes} as minutes`).join(" union all ")}) span
join (select 0 as per_application union all select 1) scope on scope.per_application = 0 or f.application_id is not null
where true
group by f.project_id, ${applicationId}, span.minutes, ${start}
on conflict (project_id, application_id, span_minutes, start) do update set
  ${columns.map((column) => `${column} = ${column} + excluded.${column}`).join(",\n  ")}`;
}
