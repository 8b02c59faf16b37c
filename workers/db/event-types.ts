/**
 * @module The event type catalog, scoped by project: names are the keys, lists go in name order.
 */
import { and, asc, eq, gt } from "drizzle-orm";
import type { Database } from "./client";
import { eventTypes, type EventTypeRow } from "./schema";

export type EventTypeFields = Omit<EventTypeRow, "projectId" | "name" | "createdAt" | "updatedAt">;

const named = (projectId: string, name: string) => and(eq(eventTypes.projectId, projectId), eq(eventTypes.name, name));

export function eventTypeQuery(db: Database, projectId: string, name: string) {
  return db.select().from(eventTypes).where(named(projectId, name));
}

export async function findEventType(db: Database, projectId: string, name: string): Promise<EventTypeRow | undefined> {
  return eventTypeQuery(db, projectId, name).get();
}

/** Creates the type, or answers undefined when the project already has one of that name. */
export async function createEventType(db: Database, projectId: string, name: string, fields: EventTypeFields): Promise<EventTypeRow | undefined> {
  const now = new Date();
  const [row] = await db
    .insert(eventTypes)
    .values({ projectId, name, ...fields, createdAt: now, updatedAt: now })
    .onConflictDoNothing()
    .returning();
  return row;
}

export async function updateEventType(db: Database, projectId: string, name: string, changes: Partial<EventTypeFields>): Promise<EventTypeRow | undefined> {
  const [row] = await db
    .update(eventTypes)
    .set({ ...changes, updatedAt: new Date() })
    .where(named(projectId, name))
    .returning();
  return row;
}

export async function deleteEventType(db: Database, projectId: string, name: string): Promise<boolean> {
  const deleted = await db.delete(eventTypes).where(named(projectId, name)).returning({ name: eventTypes.name });
  return deleted.length > 0;
}

/** Names after `cursor`, alphabetical; archived types only when asked for. */
export function eventTypeListQuery(db: Database, projectId: string, page: { limit: number; cursor?: string; includeArchived: boolean }) {
  return db
    .select()
    .from(eventTypes)
    .where(and(eq(eventTypes.projectId, projectId), page.includeArchived ? undefined : eq(eventTypes.archived, false), page.cursor ? gt(eventTypes.name, page.cursor) : undefined))
    .orderBy(asc(eventTypes.name))
    .limit(page.limit + 1);
}

export async function listEventTypes(db: Database, projectId: string, page: { limit: number; cursor?: string; includeArchived: boolean }) {
  return eventTypeListQuery(db, projectId, page).all();
}
