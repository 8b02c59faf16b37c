/**
 * @module Fan-out in SQL: one `INSERT … SELECT … FROM endpoints` writes a delivery for every endpoint an
 * event goes to, in the same D1 batch as the event, so ingest reads nothing before it writes.
 *
 * Rules: only endpoints of the event's application (an event sent to no application: only endpoints of none),
 * whatever else is asked — an application's events never reach another's endpoint. Of those, the named
 * endpoints when `endpointIds` is given; otherwise every webhook endpoint whose filter takes the type — an empty filter takes every type, `invoice.*` takes `invoice.paid` and
 * `invoice.line.added`. A disabled endpoint gets its delivery `paused`; a deleted one gets none.
 */
import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { idFloor } from "../db/ids";
import { deliveries, endpoints, type Delivery } from "../db/schema";

export type FanOut = {
  projectId: string;
  eventId: string;
  eventType: string;
  applicationId: string | null;
  endpointIds?: readonly string[];
  now: number;
};
export type FannedDelivery = Pick<Delivery, "id" | "endpointId" | "status">;

/**
 * Delivery ids are built in SQL: the id's time part from `now`, then 16 random hex digits (hex digits are
 * Crockford base32 digits), so they keep the format and the time order of every other id.
 */
export function insertDeliveries(db: Database, { projectId, eventId, eventType, applicationId, endpointIds, now }: FanOut) {
  const sameApplication = applicationId === null ? sql`e.application_id is null` : sql`e.application_id = ${applicationId}`;
  const subscribed = endpointIds
    ? sql`e.id in (select value from json_each(${JSON.stringify(endpointIds)}))`
    : sql`e.role = 'webhook' and (json_array_length(e.event_types) = 0 or exists (
        select 1 from json_each(e.event_types) f
        where f.value = ${eventType}
           or (f.value like '%.*' and substr(${eventType}, 1, length(f.value) - 1) = substr(f.value, 1, length(f.value) - 1))))`;
  // Every column, keyed by name so that the compiler checks none is missing; emitted in the table's column order.
  const values: Record<keyof Delivery, SQL> = {
    id: sql`${idFloor("delivery", now)} || hex(randomblob(8))`,
    projectId: sql`e.project_id`,
    eventId: sql`${eventId}`,
    endpointId: sql`e.id`,
    eventType: sql`${eventType}`,
    applicationId: sql`e.application_id`,
    status: sql`case e.status when 'active' then 'queued' else 'paused' end`,
    attemptCount: sql`0`,
    scheduleStep: sql`0`,
    nextTrigger: sql`'scheduled'`,
    nextAttemptAt: sql`${now}`,
    leaseUntil: sql`null`,
    enqueuedAt: sql`${now}`,
    lastStatusCode: sql`null`,
    lastError: sql`null`,
    lastAttemptAt: sql`null`,
    createdAt: sql`${now}`,
    updatedAt: sql`${now}`,
  };
  const columns = Object.keys(getTableColumns(deliveries)) as (keyof Delivery)[];
  return db
    .insert(deliveries)
    .select(
      sql`select ${sql.join(
        columns.map((column) => values[column]),
        sql`, `,
      )} from ${endpoints} e where e.project_id = ${projectId} and e.deleted_at is null and ${sameApplication} and ${subscribed}`,
    )
    .returning({ id: deliveries.id, endpointId: deliveries.endpointId, status: deliveries.status });
}
