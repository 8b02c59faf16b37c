/**
 * @module The reads behind `/stats`, scoped by project: event and delivery counts since a time (id ranges on
 * the project's indexes) and the newest attempts since then, for latency percentiles per bucket.
 */
import { and, desc, eq, exists, gte, sql } from "drizzle-orm";
import type { Database } from "./client";
import { idRange } from "./events";
import { attempts, deliveries, events, projects } from "./schema";

/**
 * One batch: the project's retention, the events and deliveries (by status) created since `since`, and at
 * most `sampleLimit` attempts started since then, newest first: past the limit the oldest are left out, so
 * the recent buckets are always whole (`attempts_project_id_started_at_idx` gives them in that order).
 */
export function statsQueries(db: Database, projectId: string, since: Date, sampleLimit: number, applicationId?: string) {
  return [
    db.select({ retentionDays: projects.retentionDays }).from(projects).where(eq(projects.id, projectId)),
    db
      .select({ count: sql<number>`count(*)` })
      .from(events)
      .where(and(eq(events.projectId, projectId), applicationId ? eq(events.applicationId, applicationId) : undefined, idRange(events.id, "event", since))),
    db
      .select({ status: deliveries.status, count: sql<number>`count(*)` })
      .from(deliveries)
      .where(and(eq(deliveries.projectId, projectId), applicationId ? eq(deliveries.applicationId, applicationId) : undefined, idRange(deliveries.id, "delivery", since)))
      .groupBy(deliveries.status),
    db
      .select({ startedAt: attempts.startedAt, durationMs: attempts.durationMs, ok: sql<number>`json_extract(${attempts.response}, '$.status') between 200 and 299` })
      .from(attempts)
      .where(
        and(
          eq(attempts.projectId, projectId),
          gte(attempts.startedAt, since),
          // Attempts carry no application; an application's are those of its deliveries (one key lookup each,
          // so the walk stays newest first instead of listing every delivery of the application).
          applicationId
            ? exists(db.select({ one: sql`1` }).from(deliveries).where(and(eq(deliveries.id, attempts.deliveryId), eq(deliveries.applicationId, applicationId))))
            : undefined,
        ),
      )
      .orderBy(desc(attempts.startedAt))
      .limit(sampleLimit),
  ] as const;
}
