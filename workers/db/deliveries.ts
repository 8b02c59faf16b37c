/**
 * @module Delivery queries for the API, scoped by project: lists, one delivery with its attempts, resend.
 * A resend only makes the delivery due now with a fresh retry schedule; the consumer does the sending. A bulk
 * resend is a job (workers/jobs/) that calls `resendChunk` once per step.
 */
import { and, asc, count, desc, eq, inArray, lt, ne, or, sql, type SQL } from "drizzle-orm";
import type { Database } from "./client";
import { idRange } from "./events";
import { attempts, deliveries, endpoints, events, type DeliveryStatus, type JobParams } from "./schema";

export type DeliveryFilter = {
  status?: DeliveryStatus;
  /** Any of these statuses. */
  statuses?: readonly DeliveryStatus[];
  /** Any of these event types. */
  eventTypes?: readonly string[];
  endpointId?: string;
  applicationId?: string;
  eventId?: string;
  eventType?: string;
  since?: Date;
  until?: Date;
};

function matching(projectId: string, filter: DeliveryFilter): SQL | undefined {
  return and(
    eq(deliveries.projectId, projectId),
    filter.status ? eq(deliveries.status, filter.status) : undefined,
    filter.statuses ? inArray(deliveries.status, [...filter.statuses]) : undefined,
    filter.eventTypes?.length ? inArray(deliveries.eventType, [...filter.eventTypes]) : undefined,
    filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
    filter.applicationId ? eq(deliveries.applicationId, filter.applicationId) : undefined,
    filter.eventId ? eq(deliveries.eventId, filter.eventId) : undefined,
    filter.eventType ? eq(deliveries.eventType, filter.eventType) : undefined,
    idRange(deliveries.id, "delivery", filter.since, filter.until),
  );
}

export function deliveryListQuery(db: Database, projectId: string, filter: DeliveryFilter, page: { limit: number; cursor?: string }) {
  return db
    .select({ delivery: deliveries, endpointUrl: endpoints.url })
    .from(deliveries)
    .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
    .where(and(matching(projectId, filter), page.cursor ? lt(deliveries.id, page.cursor) : undefined))
    .orderBy(desc(deliveries.id))
    .limit(page.limit + 1);
}

export async function listDeliveries(db: Database, projectId: string, filter: DeliveryFilter, page: { limit: number; cursor?: string }) {
  return deliveryListQuery(db, projectId, filter, page).all();
}

/** One delivery (with its endpoint's URL and its event's body) and its attempts in order. */
export function deliveryDetailQueries(db: Database, projectId: string, deliveryId: string) {
  return [
    db
      .select({ delivery: deliveries, endpointUrl: endpoints.url, body: events.body })
      .from(deliveries)
      .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
      .innerJoin(events, eq(events.id, deliveries.eventId))
      .where(and(eq(deliveries.projectId, projectId), eq(deliveries.id, deliveryId))),
    db
      .select()
      .from(attempts)
      .where(and(eq(attempts.projectId, projectId), eq(attempts.deliveryId, deliveryId)))
      .orderBy(asc(attempts.attempt)),
  ] as const;
}

export async function findDeliveryWithAttempts(db: Database, projectId: string, deliveryId: string) {
  const [found, rows] = await db.batch(deliveryDetailQueries(db, projectId, deliveryId));
  return found[0] ? { ...found[0], attempts: rows } : undefined;
}

/** Nobody may be mid-send on a delivery being reset; a live lease means the consumer still owns it. */
const notBeingSent = (now: Date) => or(ne(deliveries.status, "sending"), lt(deliveries.leaseUntil, now));

/** `applicationId` with `ids`: only those of the ids that belong to it (a portal session's resend). */
type ResendScope = { ids: string[]; applicationId?: string } | { filter: DeliveryFilter };

/** What a resend may touch: not paused (its endpoint is disabled) and not in the middle of a send. */
function resendable(projectId: string, where: ResendScope, now: Date) {
  const scope =
    "ids" in where
      ? and(eq(deliveries.projectId, projectId), inArray(deliveries.id, where.ids), where.applicationId ? eq(deliveries.applicationId, where.applicationId) : undefined)
      : matching(projectId, where.filter);
  return and(scope, notBeingSent(now), ne(deliveries.status, "paused"));
}

const resetNow = (now: Date) => ({ status: "queued", scheduleStep: 0, nextTrigger: "manual", nextAttemptAt: now, leaseUntil: null, enqueuedAt: now, updatedAt: now }) as const;

/** Makes the given deliveries (a handful: one resend) due now with a fresh schedule; returns the ids to enqueue. */
export async function resetForResend(db: Database, projectId: string, where: { ids: string[]; applicationId?: string }) {
  const now = new Date();
  const rows = await db.update(deliveries).set(resetNow(now)).where(resendable(projectId, where, now)).returning({ id: deliveries.id });
  return rows.map((row) => row.id);
}

/** Delivery ids one step of a bulk resend looks at. */
export const RESEND_WINDOW_ROWS = 1_000;

/**
 * One step of a bulk resend: the next `RESEND_WINDOW_ROWS` delivery ids below `cursor` (newest first), read
 * from the index that fits the filter best, and of those the resendable ones that match the whole filter
 * are reset. Both statements touch at most the window, however many rows match. Returns the ids to enqueue
 * and where the next step resumes (null: the whole range has been looked at).
 */
export async function resendChunk(db: Database, projectId: string, filter: DeliveryFilter, cursor: string | null, now = new Date()) {
  const window = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.projectId, projectId),
        windowIndexColumn(filter),
        filter.eventId ? eq(deliveries.eventId, filter.eventId) : undefined,
        idRange(deliveries.id, "delivery", filter.since, filter.until),
        cursor ? lt(deliveries.id, cursor) : undefined,
      ),
    )
    .orderBy(desc(deliveries.id))
    .limit(RESEND_WINDOW_ROWS)
    .all();
  if (window.length === 0) return { ids: [], cursor: null };
  // A JSON array is one bound parameter, however many ids (D1 allows 100 per statement).
  const inWindow = inArray(deliveries.id, sql`(select value from json_each(${JSON.stringify(window.map((row) => row.id))}))`);
  const rows = await db
    .update(deliveries)
    .set(resetNow(now))
    .where(and(inWindow, resendable(projectId, { filter }, now)))
    .returning({ id: deliveries.id });
  return { ids: rows.map((row) => row.id), cursor: window.length < RESEND_WINDOW_ROWS ? null : window.at(-1)!.id };
}

/** The one equality the window walks on: each is the second column of a `(project_id, …, id)` index. */
function windowIndexColumn(filter: DeliveryFilter): SQL | undefined {
  if (filter.endpointId) return eq(deliveries.endpointId, filter.endpointId);
  if (filter.applicationId) return eq(deliveries.applicationId, filter.applicationId);
  if (filter.status) return eq(deliveries.status, filter.status);
  return undefined;
}

/** How many deliveries a resend would queue right now. */
export async function countResendable(db: Database, projectId: string, where: ResendScope): Promise<number> {
  const [row] = await db.select({ n: count() }).from(deliveries).where(resendable(projectId, where, new Date()));
  return row?.n ?? 0;
}

/** How many of the matching deliveries are in each status. */
export async function deliveryStatusCounts(db: Database, projectId: string, filter: DeliveryFilter): Promise<Partial<Record<DeliveryStatus, number>>> {
  const rows = await db.select({ status: deliveries.status, n: count() }).from(deliveries).where(matching(projectId, filter)).groupBy(deliveries.status).all();
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** A resend filter as a job keeps it (JSON: times as ms) and back. */
export function storedFilter({ since, until, ...rest }: DeliveryFilter): NonNullable<JobParams["filter"]> {
  return { ...rest, statuses: rest.statuses && [...rest.statuses], eventTypes: rest.eventTypes && [...rest.eventTypes], since: since?.getTime(), until: until?.getTime() };
}

export function deliveryFilterOf({ since, until, ...rest }: NonNullable<JobParams["filter"]>): DeliveryFilter {
  return { ...rest, since: since === undefined ? undefined : new Date(since), until: until === undefined ? undefined : new Date(until) };
}
