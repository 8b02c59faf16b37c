/**
 * @module Event queries, scoped by project: the filtered, newest-first list and one event with its deliveries.
 */
import { and, desc, eq, exists, gte, inArray, lt, or, sql } from "drizzle-orm";
import { chunk, type Database } from "./client";
import { idFloor } from "./ids";
import { deliveries, endpoints, events, type DeliveryStatus, type Event } from "./schema";

export type EventFilter = {
  eventType?: string;
  /** Any of these types. */
  eventTypes?: readonly string[];
  status?: DeliveryStatus;
  endpointId?: string;
  applicationId?: string;
  since?: Date;
  until?: Date;
  /** An event id or an idempotency key, matched exactly. */
  search?: string;
};

/** Ids sort by creation time, so a time range is an id range on the primary key. */
export function idRange(column: typeof events.id | typeof deliveries.id, kind: "event" | "delivery", since?: Date, until?: Date) {
  return and(since ? gte(column, idFloor(kind, since.getTime())) : undefined, until ? lt(column, idFloor(kind, until.getTime() + 1)) : undefined);
}

export async function listEvents(db: Database, projectId: string, filter: EventFilter, page: { limit: number; cursor?: string }) {
  const deliveryMatch =
    filter.status || filter.endpointId
      ? exists(
          db
            .select({ one: sql`1` })
            .from(deliveries)
            .where(
              and(
                eq(deliveries.eventId, events.id),
                filter.status ? eq(deliveries.status, filter.status) : undefined,
                filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
              ),
            ),
        )
      : undefined;
  return db
    .select({ id: events.id, eventType: events.eventType, applicationId: events.applicationId, idempotencyKey: events.idempotencyKey, createdAt: events.createdAt })
    .from(events)
    .where(
      and(
        eq(events.projectId, projectId),
        filter.applicationId ? eq(events.applicationId, filter.applicationId) : undefined,
        filter.eventType ? eq(events.eventType, filter.eventType) : undefined,
        filter.eventTypes?.length ? inArray(events.eventType, [...filter.eventTypes]) : undefined,
        filter.search ? or(eq(events.id, filter.search), eq(events.idempotencyKey, filter.search)) : undefined,
        idRange(events.id, "event", filter.since, filter.until),
        page.cursor ? lt(events.id, page.cursor) : undefined,
        deliveryMatch,
      ),
    )
    .orderBy(desc(events.id))
    .limit(page.limit + 1)
    .all();
}

/** Event types the project (or one application) has been sent: filter suggestions and the portal's catalog. */
export async function eventTypes(db: Database, projectId: string, limit: number, applicationId?: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ eventType: events.eventType })
    .from(events)
    .where(and(eq(events.projectId, projectId), applicationId ? eq(events.applicationId, applicationId) : undefined))
    .orderBy(events.eventType)
    .limit(limit)
    .all();
  return rows.map((row) => row.eventType);
}

/** Per event, how many of its deliveries are in each status. */
export async function deliveryCounts(db: Database, projectId: string, eventIds: string[]) {
  const counts = new Map<string, Partial<Record<DeliveryStatus, number>>>();
  for (const part of chunk(eventIds, 90)) {
    const rows = await db
      .select({ eventId: deliveries.eventId, status: deliveries.status, count: sql<number>`count(*)` })
      .from(deliveries)
      .where(and(eq(deliveries.projectId, projectId), inArray(deliveries.eventId, part)))
      .groupBy(deliveries.eventId, deliveries.status)
      .all();
    for (const row of rows) counts.set(row.eventId, { ...counts.get(row.eventId), [row.status]: row.count });
  }
  return counts;
}

export async function findEventWithDeliveries(db: Database, projectId: string, eventId: string) {
  const [event, rows] = await db.batch([
    db.select().from(events).where(and(eq(events.projectId, projectId), eq(events.id, eventId))),
    db
      .select({ delivery: deliveries, endpointUrl: endpoints.url })
      .from(deliveries)
      .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
      .where(and(eq(deliveries.projectId, projectId), eq(deliveries.eventId, eventId)))
      .orderBy(deliveries.id),
  ]);
  return event[0] ? { event: event[0], deliveries: rows } : undefined;
}

/** Events by id (any number), with their bodies: a page of a list that shows payloads. */
export async function findEvents(db: Database, projectId: string, eventIds: readonly string[]): Promise<Map<string, Event>> {
  const found = new Map<string, Event>();
  for (const part of chunk([...new Set(eventIds)], 90)) {
    const rows = await db.select().from(events).where(and(eq(events.projectId, projectId), inArray(events.id, part))).all();
    for (const row of rows) found.set(row.id, row);
  }
  return found;
}

/** One event of an application by its id or its idempotency key (a Svix message's `eventId`). */
export async function findApplicationEvent(db: Database, projectId: string, applicationId: string, idOrKey: string): Promise<Event | undefined> {
  return db
    .select()
    .from(events)
    .where(and(eq(events.projectId, projectId), eq(events.applicationId, applicationId), or(eq(events.id, idOrKey), eq(events.idempotencyKey, idOrKey))))
    .get();
}
