/**
 * @module Alert queries for the API, scoped by project: the newest-first list of the emails Ferry wrote.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Database } from "./client";
import { alerts } from "./schema";

export function alertListQuery(db: Database, projectId: string, page: { limit: number; cursor?: string; endpointId?: string }) {
  return db
    .select()
    .from(alerts)
    .where(and(eq(alerts.projectId, projectId), page.endpointId ? eq(alerts.endpointId, page.endpointId) : undefined, page.cursor ? lt(alerts.id, page.cursor) : undefined))
    .orderBy(desc(alerts.id))
    .limit(page.limit + 1);
}
