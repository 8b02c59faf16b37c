/**
 * @module Project and API key queries, and deleting a project: marked deleted at once (its keys and portal
 * sessions stop), then emptied table by table by its `project.delete` job in statements of at most
 * `PROJECT_DELETE_ROWS` rows, each picking its rows by `project_id` on an index.
 */
import { and, desc, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "./client";
import { newId } from "./ids";
import { insertJobIf, newJob } from "./jobs";
import { generateSecret } from "../signing/standard-webhooks";
import { alerts, apiKeys, applications, attempts, deliveries, endpoints, eventTypes, events, idempotentResponses, jobs, projects, statsRollups, type Job, type Project } from "./schema";

/** A live (not deleted) project. */
export async function findProject(db: Database, projectId: string): Promise<Project | undefined> {
  return db
    .select()
    .from(projects)
    .where(and(eq(projects.id, projectId), isNull(projects.deletedAt)))
    .get();
}

/**
 * Marks the project deleted and records the job that deletes its rows, in one batch. Returns the job, or
 * nothing when there was no such live project. Start the job with `enqueueJobStep` (workers/queue/).
 */
export async function deleteProject(db: Database, projectId: string, now = new Date()): Promise<Job | undefined> {
  const job = newJob(projectId, "project.delete", {}, now);
  const [deleted] = await db.batch([
    db
      .update(projects)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(projects.id, projectId), isNull(projects.deletedAt)))
      .returning({ id: projects.id }),
    insertJobIf(db, job, sql`exists (select 1 from ${projects} where ${projects.id} = ${projectId} and ${projects.deletedAt} = ${now.getTime()})`),
  ]);
  return deleted.length > 0 ? job : undefined;
}

/** Rows one statement of a project delete removes at most. */
export const PROJECT_DELETE_ROWS = 1_000;

/**
 * A project's tables in the order its delete empties them: children before the rows their foreign keys
 * point at (so no statement cascades into more rows than it names), and its other jobs first, so none of
 * them goes on working on rows being deleted. The `/stats` rollups go after what they count (a row written
 * later, such as a late meta event's, has its rollups deleted by the project row's cascade). The project row
 * itself goes last (`deleteProjectRow`).
 */
export const PROJECT_TABLES = ["jobs", "attempts", "deliveries", "events", "stats_rollups", "alerts", "endpoints", "applications", "event_types", "api_keys", "idempotent_responses"] as const;
export type ProjectTable = (typeof PROJECT_TABLES)[number];

/** Tables whose chunks need nothing back but a count; attempts and events return what points into R2. */
const COUNTED: Record<Exclude<ProjectTable, "attempts" | "events">, { table: SQLiteTable; projectId: SQLiteColumn }> = {
  jobs: { table: jobs, projectId: jobs.projectId },
  deliveries: { table: deliveries, projectId: deliveries.projectId },
  stats_rollups: { table: statsRollups, projectId: statsRollups.projectId },
  alerts: { table: alerts, projectId: alerts.projectId },
  endpoints: { table: endpoints, projectId: endpoints.projectId },
  applications: { table: applications, projectId: applications.projectId },
  event_types: { table: eventTypes, projectId: eventTypes.projectId },
  api_keys: { table: apiKeys, projectId: apiKeys.projectId },
  idempotent_responses: { table: idempotentResponses, projectId: idempotentResponses.projectId },
};

/**
 * Deletes one chunk of the project's rows of `table` (never the job `exceptJobId` doing it); returns how many.
 * By rowid, picked on the table's `project_id` index, so tables keyed by (project_id, name) need no special case.
 */
export async function deleteProjectRowsChunk(db: Database, table: keyof typeof COUNTED, projectId: string, exceptJobId: string): Promise<number> {
  const { table: t, projectId: column } = COUNTED[table];
  const notTheJob = table === "jobs" ? sql` and ${jobs.id} != ${exceptJobId}` : sql``;
  const result = await db.run(sql`delete from ${t} where rowid in (select rowid from ${t} where ${column} = ${projectId}${notTheJob} limit ${PROJECT_DELETE_ROWS})`);
  return result.meta.changes;
}

/**
 * When the last send of the project that may still record an attempt loses its lease (null: none is in
 * flight). Nothing is claimed for a deleted project, so once this has passed no attempt or R2 body appears.
 */
export async function lastSendingLease(db: Database, projectId: string, now: Date): Promise<Date | null> {
  const row = await db
    .select({ until: sql<number | null>`max(${deliveries.leaseUntil})` })
    .from(deliveries)
    .where(and(eq(deliveries.projectId, projectId), eq(deliveries.status, "sending"), gt(deliveries.leaseUntil, now)))
    .get();
  return row?.until ? new Date(row.until) : null;
}

/** One chunk of the project's attempts, with the responses that say whether a body is in R2. */
export async function deleteProjectAttemptsChunk(db: Database, projectId: string) {
  const chunk = db.select({ id: attempts.id }).from(attempts).where(eq(attempts.projectId, projectId)).limit(PROJECT_DELETE_ROWS);
  return db.delete(attempts).where(inArray(attempts.id, chunk)).returning({ id: attempts.id, response: attempts.response });
}

/** One chunk of the project's events, oldest first, with their bodies (which may point into R2). */
export async function deleteProjectEventsChunk(db: Database, projectId: string) {
  const chunk = db.select({ id: events.id }).from(events).where(eq(events.projectId, projectId)).orderBy(events.id).limit(PROJECT_DELETE_ROWS);
  return db.delete(events).where(inArray(events.id, chunk)).returning({ id: events.id, body: events.body });
}

/**
 * The last statement of a project delete. Its job row goes with it (cascade), so a finished delete leaves
 * no row of the project; anything written for it since its table was emptied (a late meta event) goes too.
 */
export async function deleteProjectRow(db: Database, projectId: string): Promise<void> {
  await db.delete(projects).where(and(eq(projects.id, projectId), sql`${projects.deletedAt} is not null`));
}

export async function createProjectWithKey(
  db: Database,
  project: Omit<Project, "id" | "createdAt" | "updatedAt">,
  key: { prefix: string; hashedKey: string },
): Promise<Project> {
  const now = new Date();
  const row: Project = { ...project, id: newId("project"), createdAt: now, updatedAt: now };
  await db.batch([
    db.insert(projects).values(row),
    db.insert(apiKeys).values({ id: newId("apiKey"), projectId: row.id, name: "default", ...key, createdAt: now }),
  ]);
  return row;
}

export async function listApiKeys(db: Database, projectId: string) {
  return db.select().from(apiKeys).where(eq(apiKeys.projectId, projectId)).orderBy(desc(apiKeys.id)).all();
}

export async function revokeApiKey(db: Database, projectId: string, keyId: string): Promise<boolean> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.projectId, projectId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length > 0;
}

export async function metaEndpointUrlOf(db: Database, project: Project): Promise<string | null> {
  if (!project.metaEndpointId) return null;
  const row = await db.select({ url: endpoints.url }).from(endpoints).where(and(eq(endpoints.id, project.metaEndpointId), isNull(endpoints.deletedAt))).get();
  return row?.url ?? null;
}

/** Points the project's meta endpoint at `url` (creating it with its own secret), or removes it; returns its id. */
export async function setMetaEndpoint(db: Database, project: Project, url: string | null): Promise<string | null> {
  const now = new Date();
  if (project.metaEndpointId) {
    const where = and(eq(endpoints.id, project.metaEndpointId), eq(endpoints.projectId, project.id));
    if (url === null) {
      await db.update(endpoints).set({ deletedAt: now, updatedAt: now }).where(where);
      return null;
    }
    await db.update(endpoints).set({ url, deletedAt: null, updatedAt: now }).where(where);
    return project.metaEndpointId;
  }
  if (url === null) return null;
  const id = newId("endpoint");
  await db.insert(endpoints).values({
    id,
    projectId: project.id,
    url,
    role: "meta",
    description: "Ferry operational events",
    eventTypes: [],
    headers: {},
    timeoutMs: 15_000,
    rateLimitPerSecond: null,
    secrets: [{ value: generateSecret(), createdAt: now.getTime(), expiresAt: null }],
    status: "active",
    createdAt: now,
    updatedAt: now,
  });
  return id;
}
