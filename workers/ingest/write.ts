/**
 * @module The one D1 write of ingest: any number of events (from one request or many) and their deliveries
 * in a single `batch()`, i.e. one round trip and one transaction. Events travel as one JSON parameter per
 * statement, so three statements write every event and every delivery of a chunk, whatever the count, and
 * add them to the `/stats` rollups.
 *
 * An idempotency key costs no extra round trip: the event insert skips a key already taken
 * (`on conflict do nothing`) and a read in the same batch returns the event that holds it.
 */
import { getTableColumns } from "drizzle-orm";
import { events, type BodyFormat, type Delivery, type Event } from "../db/schema";
import { createdFacts, upsertRollupsSql } from "../db/stats-rollups";
import { INSERT_DELIVERIES_SQL, endpointsJoin, type FannedDelivery } from "./fan-out";

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

/**
 * The `/stats` rollups of what the inserts after it write, counted before they run: an event that exists
 * already, or whose idempotency key is taken (even by an earlier event of the same write), is not written,
 * so a write repeated after an unknown outcome counts nothing twice. `?1` is the events as `CountedEvent`s
 * (no bodies: JSON is parsed per field read), `?2` the deliveries' time.
 */
const counted = { projectId: "j.value ->> '$.projectId'", applicationId: "j.value ->> '$.applicationId'", eventType: "j.value ->> '$.eventType'" };
const COUNT_WRITTEN_SQL = upsertRollupsSql(
  "created",
  `with fresh as materialized (
    select j.key, j.value from json_each(?1) j
    where not exists (select 1 from events where id = j.value ->> '$.id')
      and (j.value ->> '$.idempotencyKey' is null or (
        not exists (select 1 from events where project_id = j.value ->> '$.projectId' and idempotency_key = j.value ->> '$.idempotencyKey')
        and not exists (select 1 from json_each(?1) k
          where k.key < j.key and k.value ->> '$.projectId' = j.value ->> '$.projectId' and k.value ->> '$.idempotencyKey' = j.value ->> '$.idempotencyKey')))
  )
  select ${createdFacts({ ...counted, at: "j.value ->> '$.createdAt'" }, { events: "1", deliveries: "0" })} from fresh j
  union all
  select ${createdFacts({ ...counted, at: "?2" }, { events: "0", deliveries: "1" })} from fresh j ${endpointsJoin(counted)}`,
);
type CountedEvent = Pick<WrittenEvent, "id" | "projectId" | "applicationId" | "eventType" | "idempotencyKey" | "createdAt" | "endpointIds">;
const countedEvent = ({ id, projectId, applicationId, eventType, idempotencyKey, createdAt, endpointIds }: WrittenEvent): CountedEvent => ({
  id,
  projectId,
  applicationId,
  eventType,
  idempotencyKey,
  createdAt,
  endpointIds,
});

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

/** What each statement of a write is for, so its results are read by role. */
type StatementRole = "counts" | "events" | "deliveries" | "holders";

type Holder = { writtenId: string; id: string; eventType: string; createdAt: number; deliveries: string };

/**
 * Writes `written` in one D1 batch and says, for each, what the caller answers. `recheck`: the same events
 * may already have been written by an attempt whose outcome is unknown (a failed shared write), so each one
 * is also looked up by its id and such an event is answered as created, with the deliveries it has.
 */
export function writeEvents(db: D1Database, written: readonly WrittenEvent[], now: number, { recheck = false } = {}): { statements: D1PreparedStatement[]; read: (results: D1Result[]) => WriteOutcome[] } {
  const statements: D1PreparedStatement[] = [];
  const roles: StatementRole[] = [];
  const add = (role: StatementRole, statement: D1PreparedStatement) => {
    statements.push(statement);
    roles.push(role);
  };
  const countWritten = db.prepare(COUNT_WRITTEN_SQL);
  const insertEvents = db.prepare(INSERT_EVENTS_SQL);
  const insertDeliveries = db.prepare(INSERT_DELIVERIES_SQL);
  // A shared write is a few hundred events at most: their counted JSON is one chunk.
  for (const json of jsonChunks(written.map(countedEvent))) add("counts", countWritten.bind(json, now));
  for (const json of jsonChunks(written)) {
    add("events", insertEvents.bind(json));
    add("deliveries", insertDeliveries.bind(json, now));
  }
  const toCheck = recheck ? written : written.filter((event) => event.idempotencyKey !== null);
  for (const json of jsonChunks(toCheck.map(({ id, projectId, idempotencyKey }) => ({ id, projectId, idempotencyKey })))) {
    add("holders", db.prepare(READ_HOLDERS_SQL).bind(json));
  }
  return { statements, read: (results) => readOutcomes(written, results, roles) };
}

function readOutcomes(written: readonly WrittenEvent[], results: D1Result[], roles: readonly StatementRole[]): WriteOutcome[] {
  const inserted = new Set<string>();
  const fanned = new Map<string, FannedDelivery[]>();
  const holders = new Map<string, Holder>();
  results.forEach((result, i) => {
    if (roles[i] === "events") for (const row of result.results as { id: string }[]) inserted.add(row.id);
    else if (roles[i] === "deliveries") {
      for (const { id, eventId, endpointId, status } of result.results as (FannedDelivery & { eventId: string })[]) {
        let list = fanned.get(eventId);
        if (!list) fanned.set(eventId, (list = []));
        list.push({ id, endpointId, status });
      }
    } else if (roles[i] === "holders") for (const row of result.results as Holder[]) holders.set(row.writtenId, row);
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
