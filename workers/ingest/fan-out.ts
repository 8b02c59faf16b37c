/**
 * @module Fan-out in SQL: one `INSERT … SELECT … FROM endpoints` writes a delivery for every endpoint each
 * event of a write goes to, in the same D1 batch as the events, so ingest reads nothing before it writes.
 *
 * Rules: only endpoints of the event's application (an event sent to no application: only endpoints of none),
 * whatever else is asked — an application's events never reach another's endpoint. Of those, the named
 * endpoints when `endpointIds` is given; otherwise every webhook endpoint whose filter takes the type — an empty filter takes every type, `invoice.*` takes `invoice.paid` and
 * `invoice.line.added`. A disabled endpoint gets its delivery `paused`; a deleted one gets none.
 */
import { getTableColumns } from "drizzle-orm";
import { deliveries, type Delivery } from "../db/schema";

/** An event's fields as SQL: of its `events` row (`ev`) when it is written, or of the JSON written (`j.value`). */
type EventFields = { projectId: string; applicationId: string; eventType: string };
const STORED: EventFields = { projectId: "ev.project_id", applicationId: "ev.application_id", eventType: "ev.event_type" };

/**
 * The endpoints `e` an event goes to, as a join; `j.value` is the event as written (`WrittenEvent` in
 * write.ts), which carries the request's `endpointIds`. Every fan-out rule lives here.
 */
export function endpointsJoin(event: EventFields): string {
  return `join endpoints e on e.project_id = ${event.projectId} and e.deleted_at is null
  and e.application_id is ${event.applicationId} and case when json_type(j.value, '$.endpointIds') = 'array'
    then e.id in (select value from json_each(j.value, '$.endpointIds'))
    else e.role = 'webhook' and (json_array_length(e.event_types) = 0 or exists (
      select 1 from json_each(e.event_types) f
      where f.value = ${event.eventType}
         or (f.value like '%.*' and substr(${event.eventType}, 1, length(f.value) - 1) = substr(f.value, 1, length(f.value) - 1))))
  end`;
}

/**
 * Delivery ids are built in SQL: the event's `deliveryIdFloor` (`idFloor("delivery", t)` for the event's own time, so
 * `since`/`until` find a delivery with its event), then 16 random hex
 * digits (hex digits are Crockford base32 digits), so they keep the format and the time order of every other id.
 */
const values: Record<keyof Delivery, string> = {
  id: "(j.value ->> '$.deliveryIdFloor') || hex(randomblob(8))",
  projectId: "ev.project_id",
  eventId: "ev.id",
  endpointId: "e.id",
  eventType: "ev.event_type",
  applicationId: "ev.application_id",
  status: "case e.status when 'active' then 'queued' else 'paused' end",
  attemptCount: "0",
  scheduleStep: "0",
  nextTrigger: "'scheduled'",
  nextAttemptAt: "?2",
  leaseUntil: "null",
  enqueuedAt: "?2",
  heldAt: "null",
  lastStatusCode: "null",
  lastError: "null",
  lastAttemptAt: "null",
  createdAt: "?2",
  updatedAt: "?2",
};

const columns = Object.entries(getTableColumns(deliveries)) as [keyof Delivery, { name: string }][];

/**
 * `?1` is the JSON array of events being written (`WrittenEvent` in write.ts). Only events whose row exists under their new id
 * get deliveries — an idempotency key that matched an earlier event writes none — and an event that already
 * has deliveries gets no more, so writing the same events again (after a failure whose outcome is unknown)
 * duplicates nothing.
 */
export const INSERT_DELIVERIES_SQL = `insert into deliveries (${columns.map(([, column]) => column.name).join(", ")})
select ${columns.map(([key]) => values[key]).join(", ")}
from json_each(?1) j
join events ev on ev.id = j.value ->> '$.id'
${endpointsJoin(STORED)}
where not exists (select 1 from deliveries d where d.event_id = ev.id)
returning id, event_id as eventId, endpoint_id as endpointId, status`;

export type FannedDelivery = Pick<Delivery, "id" | "endpointId" | "status">;
