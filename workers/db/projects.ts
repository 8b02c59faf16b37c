/**
 * @module Project and API key queries.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Database } from "./client";
import { newId } from "./ids";
import { generateSecret } from "../signing/standard-webhooks";
import { apiKeys, endpoints, projects, type Project } from "./schema";

export async function findProject(db: Database, projectId: string): Promise<Project | undefined> {
  return db.select().from(projects).where(eq(projects.id, projectId)).get();
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
