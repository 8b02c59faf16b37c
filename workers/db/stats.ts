/**
 * @module The reads behind `/stats`, scoped by project: the per-minute rollups (`stats_minutes`, kept by
 * triggers as rows are written) since a time, summed into buckets by SQLite. A read walks one index row per
 * minute in range and returns one row per bucket, however many events, deliveries and attempts there are.
 */
import { and, eq, gte, isNull, lte, sql } from "drizzle-orm";
import type { Database } from "./client";
import { DELIVERY_STATUSES, LATENCY_BIN_FLOORS_MS, latencyBinColumn, projects, statsMinutes, type DeliveryStatus } from "./schema";

const MINUTE_MS = 60_000;
const column = (name: string) => statsMinutes[name as keyof typeof statsMinutes.$inferSelect];

/**
 * One batch: the project's retention, and its rollups (or one application's) from the start of `since`'s
 * minute to `until`, summed per bucket of `bucketMs` (aligned on the epoch, like the buckets shown): a row per
 * bucket with any activity, with the events and deliveries (by status) created and the attempts started in it.
 */
export function statsQueries(db: Database, projectId: string, since: Date, until: Date, bucketMs: number, applicationId?: string) {
  const statusCounts = Object.fromEntries(DELIVERY_STATUSES.map((status) => [status, sql<number>`sum(${statsMinutes[status]})`])) as Record<DeliveryStatus, ReturnType<typeof sql<number>>>;
  const latencyBins = Object.fromEntries(LATENCY_BIN_FLOORS_MS.map((floor) => [latencyBinColumn(floor), sql<number>`sum(${column(latencyBinColumn(floor))})`]));
  return [
    db.select({ retentionDays: projects.retentionDays }).from(projects).where(eq(projects.id, projectId)),
    db
      .select({
        // A bound number may arrive as a REAL, so the division is truncated explicitly.
        start: sql<number>`cast(${statsMinutes.minute} / ${bucketMs} as integer) * ${bucketMs}`.as("start"),
        events: sql<number>`sum(${statsMinutes.events})`,
        ...statusCounts,
        attempts: sql<number>`sum(${statsMinutes.attempts})`,
        attemptsSucceeded: sql<number>`sum(${statsMinutes.attemptsSucceeded})`,
        attemptsFailed: sql<number>`sum(${statsMinutes.attemptsFailed})`,
        ...latencyBins,
      })
      .from(statsMinutes)
      .where(
        and(
          eq(statsMinutes.projectId, projectId),
          // Null is the project's own row (see schema.ts): each read seeks its own unique index.
          applicationId ? eq(statsMinutes.applicationId, applicationId) : isNull(statsMinutes.applicationId),
          gte(statsMinutes.minute, new Date(Math.floor(since.getTime() / MINUTE_MS) * MINUTE_MS)),
          lte(statsMinutes.minute, until),
        ),
      )
      .groupBy(sql`start`),
  ] as const;
}

/** The latency bins of a bucket's row, in floor order. */
export const latencyBinsOf = (row: Record<string, unknown>): number[] => LATENCY_BIN_FLOORS_MS.map((floor) => Number(row[latencyBinColumn(floor)] ?? 0));

/**
 * The `p` quantile (0–1) of the durations counted in `bins`, as the existing per-attempt read defined it (the
 * value at rank ⌊p·n⌋ of the sorted durations), answered with the middle of the bin holding that rank: exact
 * where bins are 1 ms wide (below 9 ms), within 10 % of the true value above; the open last bin answers its floor.
 */
export function latencyPercentile(bins: number[], p: number): number | null {
  const total = bins.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.min(total - 1, Math.floor(p * total));
  let below = 0;
  for (let bin = 0; bin < bins.length; bin++) {
    below += bins[bin];
    if (below > rank) {
      const next = LATENCY_BIN_FLOORS_MS[bin + 1];
      return next === undefined ? LATENCY_BIN_FLOORS_MS[bin] : (LATENCY_BIN_FLOORS_MS[bin] + next - 1) / 2;
    }
  }
  return null;
}
