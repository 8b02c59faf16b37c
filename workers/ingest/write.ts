/**
 * @module The one D1 write of ingest: any number of events (from one request or many) and their deliveries
 * in a single `batch()`, i.e. one round trip and one transaction. Events travel as one JSON parameter per
 * statement, so two statements write every event and every delivery of a chunk, whatever the count.
 *
 * An idempotency key costs no extra round trip: the event insert skips a key already taken
 * (`on conflict do nothing`) and a read in the same batch returns the event that holds it.
 */
import { getTableColumns } from "drizzle-orm";
import { events, type BodyFormat, type Delivery, type Event } from "../db/schema";
import { INSERT_DELIVERIES_SQL, type FannedDelivery } from "./fan-out";

/** An event as it is written: built by ingest, bound as JSON. */
export type WrittenEvent = {
  id: string;
  projectId: string;
  eventType: string;
  /** Only endpoints of this application (none: only endpoints of no application) get deliveries. */
  applicationId: string | null;
  body: string;
  bodyFormat: BodyFormat;
  idempotencyKey: string | null;
  createdAt: number;
  /** The time part of its deliveries' ids: the event's own time, not the shared write's. */
  deliveryIdFloor: string;
  endpointIds: readonly string[] | null;
};

type AcceptedEvent = Pick<Event, "id" | "eventType" | "createdAt">;

export type WriteOutcome = {
  /** False when the idempotency key matched an earlier event, which is returned instead. */
  created: boolean;
  event: AcceptedEvent;
  deliveries: FannedDelivery[];
};

const eventValues: Record<keyof Event, string> = {
  id: "value ->> '$.id'",
  projectId: "value ->> '$.projectId'",
  eventType: "value ->> '$.eventType'",
  applicationId: "value ->> '$.applicationId'",
  body: "value ->> '$.body'",
  bodyFormat: "value ->> '$.bodyFormat'",
  idempotencyKey: "value ->> '$.idempotencyKey'",
  createdAt: "value ->> '$.createdAt'",
};
const eventColumns = Object.entries(getTableColumns(events)) as [keyof Event, { name: string }][];

// `where true` lets SQLite parse the upsert clause after a SELECT; `do nothing` with no target covers the
// idempotency key's unique index as well as the primary key.
const INSERT_EVENTS_SQL = `insert into events (${eventColumns.map(([, column]) => column.name).join(", ")})
select ${eventColumns.map(([key]) => eventValues[key]).join(", ")} from json_each(?1) where true
on conflict do nothing
returning id`;

/** For each event given, the event now holding its idempotency key or its id, with that event's deliveries. */
const READ_HOLDERS_SQL = `select j.value ->> '$.id' as writtenId, ev.id, ev.event_type as eventType, ev.created_at as createdAt,
  (select json_group_array(json_array(d.id, d.endpoint_id, d.status)) from deliveries d where d.event_id = ev.id) as deliveries
from json_each(?1) j
join events ev on ev.id = j.value ->> '$.id'
  or (ev.project_id = j.value ->> '$.projectId' and ev.idempotency_key = j.value ->> '$.idempotencyKey')`;

/**
 * Bound strings are limited to 2 MB in D1; events are split into chunks of JSON below that, each written by
 * its own pair of statements in the same batch.
 */
const CHUNK_JSON_CHARS = 900_000;

type Holder = { writtenId: string; id: string; eventType: string; createdAt: number; deliveries: string };

/**
 * Writes `written` in one D1 batch and says, for each, what the caller answers. `recheck`: the same events
 * may already have been written by an attempt whose outcome is unknown (a failed shared write), so each one
 * is also looked up by its id and such an event is answered as created, with the deliveries it has.
 */
export function writeEvents(db: D1Database, written: readonly WrittenEvent[], now: number, { recheck = false } = {}): { statements: D1PreparedStatement[]; read: (results: D1Result[]) => WriteOutcome[] } {
  const statements: D1PreparedStatement[] = [];
  const insertEvents = db.prepare(INSERT_EVENTS_SQL);
  const insertDeliveries = db.prepare(INSERT_DELIVERIES_SQL);
  for (const json of jsonChunks(written)) {
    statements.push(insertEvents.bind(json), insertDeliveries.bind(json, now));
  }
  const insertCount = statements.length;
  const toCheck = recheck ? written : written.filter((event) => event.idempotencyKey !== null);
  for (const json of jsonChunks(toCheck.map(({ id, projectId, idempotencyKey }) => ({ id, projectId, idempotencyKey })))) {
    statements.push(db.prepare(READ_HOLDERS_SQL).bind(json));
  }
  return { statements, read: (results) => readOutcomes(written, results, insertCount) };
}

function readOutcomes(written: readonly WrittenEvent[], results: D1Result[], insertCount: number): WriteOutcome[] {
  const inserted = new Set<string>();
  const fanned = new Map<string, FannedDelivery[]>();
  const holders = new Map<string, Holder>();
  results.forEach((result, i) => {
    if (i < insertCount && i % 2 === 0) for (const row of result.results as { id: string }[]) inserted.add(row.id);
    else if (i < insertCount) {
      for (const { eventId, ...delivery } of result.results as (FannedDelivery & { eventId: string })[]) {
        let list = fanned.get(eventId);
        if (!list) fanned.set(eventId, (list = []));
        list.push(delivery);
      }
    } else for (const row of result.results as Holder[]) holders.set(row.writtenId, row);
  });
  return written.map((event) => {
    if (inserted.has(event.id)) {
      return { created: true, event: { id: event.id, eventType: event.eventType, createdAt: new Date(event.createdAt) }, deliveries: fanned.get(event.id) ?? [] };
    }
    const holder = holders.get(event.id);
    if (!holder) throw new Error(`event ${event.id} was neither written nor found`);
    const deliveries = (JSON.parse(holder.deliveries) as [string, string, Delivery["status"]][]).map(([id, endpointId, status]) => ({ id, endpointId, status }));
    return { created: holder.id === event.id, event: { id: holder.id, eventType: holder.eventType, createdAt: new Date(holder.createdAt) }, deliveries };
  });
}

function* jsonChunks(items: readonly object[]): Generator<string> {
  let parts: string[] = [];
  let size = 0;
  for (const item of items) {
    const json = JSON.stringify(item);
    if (parts.length > 0 && size + json.length > CHUNK_JSON_CHARS) {
      yield `[${parts.join(",")}]`;
      parts = [];
      size = 0;
    }
    parts.push(json);
    size += json.length + 1;
  }
  if (parts.length > 0) yield `[${parts.join(",")}]`;
}
