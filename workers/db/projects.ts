/**
 * @module Project and API key queries.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Database } from "./client";
import { newId } from "./ids";
import { apiKeys, projects, type Project } from "./schema";

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
