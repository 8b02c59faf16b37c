/**
 * @module The reads behind `/stats`, scoped by project: the rollups (`stats_rollups`, kept as rows are written,
 * see stats-rollups.ts) since a time, summed into buckets by SQLite. Buckets of whole hours read hour rows
 * (and the minutes before the first whole hour), others minute rows, so a read walks about one index row per
 * bucket (at most 60 for buckets under an hour) and returns one row per bucket, however many rows they
 * counted. And the deliveries pending now, counted up to a cap.
 */
import { and, eq, gte, inArray, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { Database } from "./client";
import { idRange } from "./events";
import { LATENCY_BIN_FLOORS_MS, deliveries, latencyBinColumn, projects, statsRollups } from "./schema";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const column = (name: string) => statsRollups[name as keyof typeof statsRollups.$inferSelect];
const commaSeparated = (parts: SQL[]) => sql`(${sql.join(parts, sql` || ',' || `)})`;
/** The bins' sums as one text, concatenated in groups of 8: one chain of 58 would pass SQLite's expression depth limit (100). */
const latencyBinsList = commaSeparated(
  Array.from({ length: Math.ceil(LATENCY_BIN_FLOORS_MS.length / 8) }, (_, group) =>
    commaSeparated(LATENCY_BIN_FLOORS_MS.slice(group * 8, group * 8 + 8).map((floor) => sql`sum(${column(latencyBinColumn(floor))})`)),
  ),
);

/**
 * Pending deliveries are counted among at most this many of the project's: a backlog larger than that is
 * shown as "at least", so the count costs the same whatever the backlog.
 */
export const PENDING_COUNT_CAP = 10_000;

/**
 * One batch: the project's retention; its rollups (or one application's) from the start of `since`'s minute
 * to `until`, summed per bucket of `bucketMs` (aligned on the epoch, like the buckets shown): a row per bucket
 * with any activity, with the events and deliveries created and the attempts started in it; and the
 * deliveries created since `since` that are queued, sending or retrying now (`scanned` of the project's, up
 * to the cap plus one; `pending` of them the application's).
 */
export function statsQueries(db: Database, projectId: string, since: Date, until: Date, bucketMs: number, applicationId?: string) {
  const fromMinute = Math.floor(since.getTime() / MINUTE_MS) * MINUTE_MS;
  // Buckets of whole hours begin on hours, so every hour from the first whole one is inside one bucket.
  const firstWholeHour = bucketMs % HOUR_MS === 0 ? Math.ceil(fromMinute / HOUR_MS) * HOUR_MS : Infinity;
  const span = (minutes: number, from: number, to: { before: number } | { upTo: Date }) =>
    and(eq(statsRollups.spanMinutes, minutes), gte(statsRollups.start, new Date(from)), "before" in to ? lt(statsRollups.start, new Date(to.before)) : lte(statsRollups.start, to.upTo));
  const pendingOfProject = db
    .select({ applicationId: deliveries.applicationId })
    .from(deliveries)
    .where(and(eq(deliveries.projectId, projectId), inArray(deliveries.status, ["queued", "sending", "retrying"]), idRange(deliveries.id, "delivery", since)))
    .limit(PENDING_COUNT_CAP + 1)
    .as("pending_of_project");
  return [
    db.select({ retentionDays: projects.retentionDays }).from(projects).where(eq(projects.id, projectId)),
    db
      .select({
        // A bound number may arrive as a REAL, so the division is truncated explicitly.
        bucket: sql<number>`cast(${statsRollups.start} / ${bucketMs} as integer) * ${bucketMs}`.as("bucket"),
        events: sql<number>`sum(${statsRollups.events})`,
        deliveries: sql<number>`sum(${statsRollups.deliveries})`,
        deliveriesFailed: sql<number>`sum(${statsRollups.deliveriesFailed})`,
        attempts: sql<number>`sum(${statsRollups.attempts})`,
        attemptsSucceeded: sql<number>`sum(${statsRollups.attemptsSucceeded})`,
        attemptsFailed: sql<number>`sum(${statsRollups.attemptsFailed})`,
        // One comma-separated value rather than 58 columns: each column of each row costs the Worker time to take apart.
        latencyBins: sql<string>`${latencyBinsList}`,
      })
      .from(statsRollups)
      .where(
        and(
          eq(statsRollups.projectId, projectId),
          // '' is the project's own row (see schema.ts).
          eq(statsRollups.applicationId, applicationId ?? ""),
          firstWholeHour === Infinity
            ? span(1, fromMinute, { upTo: until })
            : or(span(1, fromMinute, { before: firstWholeHour }), span(60, firstWholeHour, { upTo: until })),
        ),
      )
      .groupBy(sql`bucket`),
    db
      .select({
        scanned: sql<number>`count(*)`.as("scanned"),
        pending: (applicationId ? sql<number>`count(nullif(${pendingOfProject.applicationId} = ${applicationId}, 0))` : sql<number>`count(*)`).as("pending"),
      })
      .from(pendingOfProject),
  ] as const;
}

/**
 * The `p` quantile (0–1) of the durations counted in `bins` (a bucket row's `latencyBins`), as the old
 * per-attempt read defined it (the value at rank ⌊p·n⌋ of the sorted durations), answered with the middle of
 * the bin holding that rank: exact where bins are 1 ms wide (below 9 ms), within 10 % of the true value
 * above; the open last bin answers its floor.
 */
export function latencyPercentile(bins: string | null, p: number): number | null {
  const counts = bins ? bins.split(",").map(Number) : [];
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.min(total - 1, Math.floor(p * total));
  let bin = 0;
  for (let below = counts[0]; below <= rank; below += counts[++bin]);
  const next = LATENCY_BIN_FLOORS_MS[bin + 1];
  return next === undefined ? LATENCY_BIN_FLOORS_MS[bin] : (LATENCY_BIN_FLOORS_MS[bin] + next - 1) / 2;
}
