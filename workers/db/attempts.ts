/**
 * @module Attempt queries across deliveries, scoped by project: an endpoint's or an event's attempts, newest
 * first, each with the delivery it belongs to.
 */
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import type { Database } from "./client";
import { attempts, deliveries } from "./schema";

export type AttemptFilter = {
  endpointId?: string;
  eventId?: string;
  applicationId?: string;
  /** true: answered 2xx; false: anything else (another status, or no answer). */
  succeeded?: boolean;
  /** 0 = no answer, 100…500 = that status class. */
  statusClass?: number;
  eventTypes?: readonly string[];
  since?: Date;
  until?: Date;
};

const statusOf = sql<number | null>`json_extract(${attempts.response}, '$.status')`;

function matching(projectId: string, filter: AttemptFilter): SQL | undefined {
  const ok = sql`coalesce(${statusOf} between 200 and 299, 0)`;
  return and(
    eq(attempts.projectId, projectId),
    filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
    filter.eventId ? eq(deliveries.eventId, filter.eventId) : undefined,
    filter.applicationId ? eq(deliveries.applicationId, filter.applicationId) : undefined,
    filter.succeeded === undefined ? undefined : filter.succeeded ? sql`${ok} = 1` : sql`${ok} = 0`,
    filter.statusClass === undefined ? undefined : filter.statusClass === 0 ? sql`${statusOf} is null` : sql`${statusOf} / 100 = ${filter.statusClass / 100}`,
    filter.eventTypes?.length ? sql`${deliveries.eventType} in (select value from json_each(${JSON.stringify(filter.eventTypes)}))` : undefined,
    filter.since ? sql`${attempts.startedAt} >= ${filter.since.getTime()}` : undefined,
    filter.until ? sql`${attempts.startedAt} < ${filter.until.getTime()}` : undefined,
  );
}

/** Attempt ids are time-ordered like every id, so the list pages by id. */
export async function listAttempts(db: Database, projectId: string, filter: AttemptFilter, page: { limit: number; cursor?: string }) {
  return db
    .select({ attempt: attempts, delivery: deliveries })
    .from(attempts)
    .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
    .where(and(matching(projectId, filter), page.cursor ? lt(attempts.id, page.cursor) : undefined))
    .orderBy(desc(attempts.id))
    .limit(page.limit + 1)
    .all();
}

export async function findAttempt(db: Database, projectId: string, eventId: string, attemptId: string) {
  return db
    .select({ attempt: attempts, delivery: deliveries })
    .from(attempts)
    .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
    .where(and(eq(attempts.projectId, projectId), eq(attempts.id, attemptId), eq(deliveries.eventId, eventId)))
    .get();
}
