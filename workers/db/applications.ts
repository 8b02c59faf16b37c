/**
 * @module Application queries, scoped by project id first. An application is named by its id or by the
 * sender's `uid` wherever one is expected; deleting one deletes its endpoints
 * in a job (workers/jobs/), a bounded chunk at a time.
 */
import { and, desc, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk";
import type { Database } from "./client";
import { newId } from "./ids";
import { insertJobIf, newJob } from "./jobs";
import { applications, endpoints, type Application, type Job } from "./schema";

const live = (projectId: string) => and(eq(applications.projectId, projectId), isNull(applications.deletedAt));

/**
 * Live applications named by id or by uid, found through the primary key and the uid index: SQLite plans an
 * `id = ? OR uid = ?` as a walk over every application of the project.
 */
const named = (projectId: string, idsOrUids: readonly string[]) =>
  and(
    live(projectId),
    sql`${applications.id} in (select ${applications.id} from ${applications} where ${inArray(applications.id, [...idsOrUids])} union all select ${applications.id} from ${applications} where ${applications.projectId} = ${projectId} and ${inArray(applications.uid, [...idsOrUids])} and ${applications.uid} is not null and ${applications.deletedAt} is null)`,
  );

/** Random HMAC key for an application's portal links and sessions. */
export function newPortalKey(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function createApplication(
  db: Database,
  projectId: string,
  input: Pick<Application, "name" | "uid" | "metadata" | "rateLimitPerSecond">,
): Promise<Application> {
  const now = new Date();
  const row: Application = { id: newId("application"), projectId, ...input, portalKey: newPortalKey(), deletedAt: null, createdAt: now, updatedAt: now };
  await db.insert(applications).values(row);
  return row;
}

/** By id or by uid: uids cannot start with `app_`, so the two never collide. */
export function applicationQuery(db: Database, projectId: string, idOrUid: string) {
  return db
    .select()
    .from(applications)
    .where(named(projectId, [idOrUid]));
}

export async function findApplication(db: Database, projectId: string, idOrUid: string): Promise<Application | undefined> {
  return applicationQuery(db, projectId, idOrUid).get();
}

export function applicationListQuery(db: Database, projectId: string, page: { limit: number; cursor?: string }) {
  return db
    .select()
    .from(applications)
    .where(and(live(projectId), page.cursor ? lt(applications.id, page.cursor) : undefined))
    .orderBy(desc(applications.id))
    .limit(page.limit + 1);
}

export async function listApplications(db: Database, projectId: string, page: { limit: number; cursor?: string }) {
  return applicationListQuery(db, projectId, page).all();
}

export async function updateApplication(db: Database, projectId: string, applicationId: string, changes: Partial<Application>) {
  const [row] = await db
    .update(applications)
    .set({ ...changes, updatedAt: new Date() })
    .where(and(live(projectId), eq(applications.id, applicationId)))
    .returning();
  return row as Application | undefined;
}

/** Endpoints one statement of an application delete soft-deletes at most. */
const ENDPOINTS_PER_CHUNK = 100;

/**
 * Deletes the application (its portal links stop working at once) and records the job that deletes its
 * endpoints and fails their pending deliveries in chunks, in one batch. Returns the job, or nothing when
 * there was no such application.
 */
export async function deleteApplication(db: Database, projectId: string, applicationId: string, now = new Date()): Promise<Job | undefined> {
  const job = newJob(projectId, "application.delete", { applicationId }, now);
  const [deleted] = await db.batch([
    db
      .update(applications)
      .set({ deletedAt: now, updatedAt: now, portalKey: newPortalKey() })
      .where(and(live(projectId), eq(applications.id, applicationId)))
      .returning({ id: applications.id }),
    insertJobIf(db, job, sql`exists (select 1 from ${applications} where ${applications.id} = ${applicationId} and ${applications.deletedAt} = ${now.getTime()})`),
  ]);
  return deleted.length > 0 ? job : undefined;
}

/** One chunk of a deleted application's endpoints are soft-deleted; true when none are left. */
export async function deleteEndpointsChunk(db: Database, projectId: string, applicationId: string, now = new Date()): Promise<boolean> {
  const chunk = db
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(and(eq(endpoints.projectId, projectId), eq(endpoints.applicationId, applicationId), isNull(endpoints.deletedAt)))
    .limit(ENDPOINTS_PER_CHUNK);
  const rows = await db.update(endpoints).set({ deletedAt: now, updatedAt: now }).where(inArray(endpoints.id, chunk)).returning({ id: endpoints.id });
  return rows.length < ENDPOINTS_PER_CHUNK;
}

/** Several applications by id or uid in one query per 45 names (each name binds twice), keyed by what was asked. */
export async function findApplications(db: Database, projectId: string, idsOrUids: readonly string[]): Promise<Map<string, Application>> {
  const found = new Map<string, Application>();
  for (const part of chunk([...new Set(idsOrUids)], 45)) {
    const rows = await db
      .select()
      .from(applications)
      .where(named(projectId, part))
      .all();
    for (const row of rows) {
      found.set(row.id, row);
      if (row.uid) found.set(row.uid, row);
    }
  }
  return found;
}
