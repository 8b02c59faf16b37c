/**
 * @module Application queries, scoped by project id first. An application is named by its id or by the
 * sender's `uid` wherever one is expected; deleting one deletes its endpoints through the endpoint delete.
 */
import { and, desc, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import { chunk } from "../lib/chunk";
import type { Database } from "./client";
import { deleteEndpoint } from "./endpoints";
import { newId } from "./ids";
import { applications, endpoints, type Application } from "./schema";

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

const ENDPOINTS_PER_STEP = 50;

/**
 * Deletes the application's endpoints a page at a time (each through `deleteEndpoint`, like a single delete),
 * then the application. Endpoints go first, so a delete cut short leaves the application in place and
 * running the delete again finishes it.
 */
export async function deleteApplication(db: Database, projectId: string, applicationId: string): Promise<boolean> {
  for (;;) {
    const page = await db
      .select({ id: endpoints.id })
      .from(endpoints)
      .where(and(eq(endpoints.projectId, projectId), eq(endpoints.applicationId, applicationId), isNull(endpoints.deletedAt)))
      .limit(ENDPOINTS_PER_STEP)
      .all();
    for (const endpoint of page) await deleteEndpoint(db, projectId, endpoint.id);
    if (page.length < ENDPOINTS_PER_STEP) break;
  }
  const now = new Date();
  const deleted = await db
    .update(applications)
    .set({ deletedAt: now, updatedAt: now, portalKey: newPortalKey() })
    .where(and(live(projectId), eq(applications.id, applicationId)))
    .returning({ id: applications.id });
  return deleted.length > 0;
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
