/**
 * @module Event queries, scoped by project: the filtered, newest-first list and one event with its deliveries.
 */
import { and, desc, eq, gte, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { chunk } from "../lib/chunk";
import type { Database } from "./client";
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

/** Ids sort by creation time, so a time range is an id range on the primary key (or on a column holding those ids). */
export function idRange(column: SQLiteColumn, kind: "event" | "delivery", since?: Date, until?: Date) {
  return and(since ? gte(column, idFloor(kind, since.getTime())) : undefined, until ? lt(column, idFloor(kind, until.getTime() + 1)) : undefined);
}

const listColumns = { id: events.id, eventType: events.eventType, applicationId: events.applicationId, idempotencyKey: events.idempotencyKey, createdAt: events.createdAt };

/**
 * What the event itself must match. `search` is an exact id or idempotency key, so it is looked up by both
 * indexes (at most two rows) instead of being tested on every event of the project.
 */
function eventMatches(projectId: string, filter: EventFilter): SQL | undefined {
  return and(
    eq(events.projectId, projectId),
    filter.applicationId ? eq(events.applicationId, filter.applicationId) : undefined,
    filter.eventType ? eq(events.eventType, filter.eventType) : undefined,
    filter.eventTypes?.length ? inArray(events.eventType, [...filter.eventTypes]) : undefined,
    filter.search
      ? sql`${events.id} in (select ${events.id} from ${events} where ${events.id} = ${filter.search} union all select ${events.id} from ${events} where ${events.projectId} = ${projectId} and ${events.idempotencyKey} = ${filter.search})`
      : undefined,
  );
}

/**
 * The newest-first page of events. Filtered by a delivery's status or endpoint, the page is read from the
 * deliveries' (status | endpoint, event id) index in event order, so a rare status costs a page, not a walk
 * over every event of the project testing each one.
 */
export function eventListQuery(db: Database, projectId: string, filter: EventFilter, page: { limit: number; cursor?: string }) {
  if (filter.status || filter.endpointId) {
    return db
      .select(listColumns)
      .from(deliveries)
      .innerJoin(events, eq(events.id, deliveries.eventId))
      .where(
        and(
          eq(deliveries.projectId, projectId),
          filter.status ? eq(deliveries.status, filter.status) : undefined,
          filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
          idRange(deliveries.eventId, "event", filter.since, filter.until),
          page.cursor ? lt(deliveries.eventId, page.cursor) : undefined,
          eventMatches(projectId, filter),
        ),
      )
      .groupBy(deliveries.eventId)
      .orderBy(desc(deliveries.eventId))
      .limit(page.limit + 1);
  }
  return db
    .select(listColumns)
    .from(events)
    .where(and(eventMatches(projectId, filter), idRange(events.id, "event", filter.since, filter.until), page.cursor ? lt(events.id, page.cursor) : undefined))
    .orderBy(desc(events.id))
    .limit(page.limit + 1);
}

export async function listEvents(db: Database, projectId: string, filter: EventFilter, page: { limit: number; cursor?: string }) {
  return eventListQuery(db, projectId, filter, page).all();
}

/**
 * The distinct event types, alphabetical, found one index seek at a time (the next type after the last one
 * found) rather than by reading every event of the project.
 */
export function sentEventTypesQuery(db: Database, projectId: string, limit: number, applicationId?: string) {
  const scope = applicationId ? sql`${events.projectId} = ${projectId} and ${events.applicationId} = ${applicationId}` : sql`${events.projectId} = ${projectId}`;
  return db.all<{ name: string }>(sql`with recursive sent(name) as (
    select (select min(${events.eventType}) from ${events} where ${scope})
    union all
    select (select min(${events.eventType}) from ${events} where ${scope} and ${events.eventType} > sent.name) from sent where sent.name is not null
  ) select name from sent where name is not null limit ${limit}`);
}

/** Event types the project (or one application) has been sent: filter suggestions and the portal's catalog. */
export async function eventTypes(db: Database, projectId: string, limit: number, applicationId?: string): Promise<string[]> {
  const rows = await sentEventTypesQuery(db, projectId, limit, applicationId);
  return rows.map((row) => row.name);
}

/** The statuses of some events' deliveries, counted by the caller (a GROUP BY here makes SQLite prefer an index it cannot seek). */
export function deliveryStatusesQuery(db: Database, projectId: string, eventIds: string[]) {
  return db
    .select({ eventId: deliveries.eventId, status: deliveries.status })
    .from(deliveries)
    .where(and(eq(deliveries.projectId, projectId), inArray(deliveries.eventId, eventIds)));
}

/** Per event, how many of its deliveries are in each status. */
export async function deliveryCounts(db: Database, projectId: string, eventIds: string[]) {
  const counts = new Map<string, Partial<Record<DeliveryStatus, number>>>();
  for (const part of chunk(eventIds, 90)) {
    for (const row of await deliveryStatusesQuery(db, projectId, part).all()) {
      const byStatus = counts.get(row.eventId) ?? {};
      byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
      counts.set(row.eventId, byStatus);
    }
  }
  return counts;
}

/** One event and its deliveries, oldest first: one batch of two index seeks. */
export function eventDetailQueries(db: Database, projectId: string, eventId: string) {
  return [
    db.select().from(events).where(and(eq(events.projectId, projectId), eq(events.id, eventId))),
    db
      .select({ delivery: deliveries, endpointUrl: endpoints.url })
      .from(deliveries)
      .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
      .where(and(eq(deliveries.projectId, projectId), eq(deliveries.eventId, eventId)))
      .orderBy(deliveries.id),
  ] as const;
}

export async function findEventWithDeliveries(db: Database, projectId: string, eventId: string) {
  const [event, rows] = await db.batch(eventDetailQueries(db, projectId, eventId));
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
export function applicationEventQuery(db: Database, projectId: string, applicationId: string, idOrKey: string) {
  return db
    .select()
    .from(events)
    .where(and(eq(events.projectId, projectId), eq(events.applicationId, applicationId), or(eq(events.id, idOrKey), eq(events.idempotencyKey, idOrKey))));
}

export async function findApplicationEvent(db: Database, projectId: string, applicationId: string, idOrKey: string): Promise<Event | undefined> {
  return applicationEventQuery(db, projectId, applicationId, idOrKey).get();
}
