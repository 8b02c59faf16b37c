/**
 * @module Project statistics for the dashboard overview: volumes, success rate, attempt latency over time.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { PROJECT_DEFAULTS, retainedSince } from "../../config";
import { statsQueries } from "../../db/stats";
import type { AppEnv } from "../env";
import { ApplicationQuery, errorResponses, jsonResponse, security } from "../openapi";
import { applicationFilter } from "../scope";

const StatsQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: "Default: 24 h ago" }),
  bucketMinutes: z.coerce.number().int().min(1).max(1440).default(60),
  application: ApplicationQuery,
});

const Bucket = z.object({
  start: z.string(),
  deliveries: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
});

const StatsOut = z
  .object({
    since: z.string(),
    until: z.string(),
    retainedSince: z.string().openapi({ description: "Older data has been deleted by retention: counts cannot reach further back" }),
    events: z.number().int(),
    deliveries: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    pending: z.number().int(),
    successRate: z.number().nullable(),
    buckets: z.array(Bucket),
  })
  .openapi("Stats");

/** Attempts read per request at most: beyond it the newest are counted and the oldest buckets left short. */
const LATENCY_SAMPLE_LIMIT = 50_000;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export const statsRoutes = new OpenAPIHono<AppEnv>();

statsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/stats",
    operationId: "v1.stats.get",
    summary: "Volumes, success rate and attempt latency (p50/p95) per time bucket",
    security,
    request: { query: StatsQuery },
    responses: { 200: jsonResponse(StatsOut, "Statistics"), ...errorResponses },
  }),
  async (c) => {
    const projectId = c.var.projectId;
    const query = c.req.valid("query");
    const applicationId = await applicationFilter(c, query.application);
    const until = new Date();
    const since = query.since ? new Date(query.since) : new Date(until.getTime() - 86_400_000);
    const bucketMs = query.bucketMinutes * 60_000;
    const db = c.var.db;
    const [project, eventCount, statusCounts, samples] = await db.batch(statsQueries(db, projectId, since, LATENCY_SAMPLE_LIMIT, applicationId));

    const count = (status: string) => statusCounts.find((row) => row.status === status)?.count ?? 0;
    const buckets = new Map<number, { deliveries: number; succeeded: number; failed: number; durations: number[] }>();
    for (let start = Math.floor(since.getTime() / bucketMs) * bucketMs; start <= until.getTime(); start += bucketMs) {
      buckets.set(start, { deliveries: 0, succeeded: 0, failed: 0, durations: [] });
    }
    for (const sample of samples) {
      const bucket = buckets.get(Math.floor(sample.startedAt.getTime() / bucketMs) * bucketMs);
      if (!bucket) continue;
      bucket.deliveries += 1;
      if (sample.ok) bucket.succeeded += 1;
      else bucket.failed += 1;
      bucket.durations.push(sample.durationMs);
    }
    const succeeded = count("succeeded");
    const failed = count("failed");
    return c.json(
      {
        since: since.toISOString(),
        until: until.toISOString(),
        retainedSince: retainedSince(c.env, project[0] ?? PROJECT_DEFAULTS, until.getTime()).toISOString(),
        events: eventCount[0]?.count ?? 0,
        deliveries: statusCounts.reduce((sum, row) => sum + row.count, 0),
        succeeded,
        failed,
        pending: count("queued") + count("sending") + count("retrying"),
        successRate: succeeded + failed > 0 ? succeeded / (succeeded + failed) : null,
        buckets: [...buckets].map(([start, b]) => {
          const sorted = b.durations.sort((x, y) => x - y);
          return { start: new Date(start).toISOString(), deliveries: b.deliveries, succeeded: b.succeeded, failed: b.failed, p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95) };
        }),
      },
      200,
    );
  },
);
