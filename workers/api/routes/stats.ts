/**
 * @module Project statistics for the dashboard overview: volumes, success rate, attempt latency over time.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { PROJECT_DEFAULTS, retainedSince } from "../../config";
import { PENDING_COUNT_CAP, latencyPercentile, statsQueries } from "../../db/stats";
import type { AppEnv } from "../env";
import { ApplicationQuery, errorResponses, jsonResponse, security } from "../openapi";
import { applicationFilter } from "../scope";

const StatsQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: "Default: 24 h ago. Counted from the start of its minute (the finest rollups are per minute)" }),
  bucketMinutes: z.coerce.number().int().min(1).max(1440).default(60),
  application: ApplicationQuery,
});

const Bucket = z.object({
  start: z.string(),
  deliveries: z.number().int().openapi({ description: "Attempts started in the bucket" }),
  succeeded: z.number().int().openapi({ description: "Of them, those answered with a 2xx" }),
  failed: z.number().int(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
});

const StatsOut = z
  .object({
    since: z.string(),
    until: z.string(),
    retainedSince: z.string().openapi({ description: "Older data has been deleted by retention: counts cannot reach further back" }),
    events: z.number().int().openapi({ description: "Events received since `since`" }),
    deliveries: z.number().int().openapi({ description: "Deliveries created since `since` (an event's, one per endpoint it goes to)" }),
    succeeded: z.number().int().openapi({ description: "Deliveries that succeeded since `since` (a resend that succeeds counts again)" }),
    failed: z.number().int().openapi({ description: "Deliveries whose last scheduled attempt failed since `since`" }),
    pending: z.number().int().openapi({ description: "Deliveries created since `since` that are queued, sending or retrying now" }),
    pendingCapped: z.boolean().openapi({ description: `True when the project has more than ${PENDING_COUNT_CAP} pending deliveries: \`pending\` is then counted among ${PENDING_COUNT_CAP} of them, a lower bound` }),
    successRate: z.number().nullable(),
    buckets: z.array(Bucket),
  })
  .openapi("Stats");

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
    const [project, rows, [pendingCount]] = await db.batch(statsQueries(db, projectId, since, until, bucketMs, applicationId));

    const buckets = new Map<number, { deliveries: number; succeeded: number; failed: number; latencyBins: string | null }>();
    for (let start = Math.floor(since.getTime() / bucketMs) * bucketMs; start <= until.getTime(); start += bucketMs) {
      buckets.set(start, { deliveries: 0, succeeded: 0, failed: 0, latencyBins: null });
    }
    for (const row of rows) {
      const bucket = buckets.get(row.bucket);
      if (bucket) Object.assign(bucket, { deliveries: row.attempts, succeeded: row.attemptsSucceeded, failed: row.attemptsFailed, latencyBins: row.latencyBins });
    }
    const total = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((sum, row) => sum + pick(row), 0);
    const succeeded = total((row) => row.attemptsSucceeded);
    const failed = total((row) => row.deliveriesFailed);
    return c.json(
      {
        since: since.toISOString(),
        until: until.toISOString(),
        retainedSince: retainedSince(c.env, project[0] ?? PROJECT_DEFAULTS, until.getTime()).toISOString(),
        events: total((row) => row.events),
        deliveries: total((row) => row.deliveries),
        succeeded,
        failed,
        pending: Math.min(pendingCount.pending, PENDING_COUNT_CAP),
        pendingCapped: pendingCount.scanned > PENDING_COUNT_CAP,
        successRate: succeeded + failed > 0 ? succeeded / (succeeded + failed) : null,
        buckets: [...buckets].map(([start, b]) => ({
          start: new Date(start).toISOString(),
          deliveries: b.deliveries,
          succeeded: b.succeeded,
          failed: b.failed,
          p50Ms: latencyPercentile(b.latencyBins, 0.5),
          p95Ms: latencyPercentile(b.latencyBins, 0.95),
        })),
      },
      200,
    );
  },
);
