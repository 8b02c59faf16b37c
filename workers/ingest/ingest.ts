/**
 * @module Ingest: validated events in, one D1 batch out (events + one delivery per subscribed endpoint),
 * then delivery ids onto the queue. Idempotency keys make a repeated request return the original event.
 */
import { and, eq, inArray } from "drizzle-orm";
import { chunk, database, type Database } from "../db/client";
import { projectEndpoints } from "../db/endpoints";
import { newId } from "../db/ids";
import { deliveries, events, type Delivery, type Event } from "../db/schema";
import { enqueueDeliveries } from "../queue/delivery-queue";
import { subscribedEndpoints } from "./fan-out";

export type EventInput = {
  eventType: string;
  payload: unknown;
  idempotencyKey?: string;
  endpointIds?: string[];
};

export type IngestResult = {
  /** False when the idempotency key matched an earlier event, which is returned instead. */
  created: boolean;
  event: Event;
  deliveries: Pick<Delivery, "id" | "endpointId" | "status">[];
};

/** Rows per multi-row INSERT, so one statement stays under D1's 100 bound parameters. */
const DELIVERY_ROWS_PER_INSERT = 6;
const UNIQUE_VIOLATION = /UNIQUE constraint failed/i;

/** The exact bytes every attempt will send. */
export function webhookBody(eventType: string, createdAt: Date, payload: unknown): string {
  return JSON.stringify({ type: eventType, timestamp: createdAt.toISOString(), data: payload });
}

export async function ingestEvents(env: Env, projectId: string, inputs: readonly EventInput[]): Promise<IngestResult[]> {
  const db = database(env);
  try {
    return await writeEvents(env, db, projectId, inputs);
  } catch (error) {
    // A concurrent request with the same idempotency key won the race; the retry finds its event.
    if (!UNIQUE_VIOLATION.test(String(error))) throw error;
    return writeEvents(env, db, projectId, inputs);
  }
}

async function writeEvents(env: Env, db: Database, projectId: string, inputs: readonly EventInput[]): Promise<IngestResult[]> {
  const existing = await findByIdempotencyKeys(db, projectId, inputs.flatMap((input) => input.idempotencyKey ?? []));
  const endpoints = await projectEndpoints(db, projectId);
  const now = new Date();
  const results: IngestResult[] = [];
  const newEvents: Event[] = [];
  const newDeliveries: Delivery[] = [];

  for (const input of inputs) {
    const earlier = input.idempotencyKey ? existing.get(input.idempotencyKey) : undefined;
    if (earlier) {
      results.push({ created: false, ...earlier });
      continue;
    }
    const event: Event = {
      id: newId("event", now.getTime()),
      projectId,
      eventType: input.eventType,
      body: webhookBody(input.eventType, now, input.payload),
      idempotencyKey: input.idempotencyKey ?? null,
      createdAt: now,
    };
    const rows = subscribedEndpoints(endpoints, input.eventType, input.endpointIds).map(
      (endpoint): Delivery => ({
        id: newId("delivery", now.getTime()),
        projectId,
        eventId: event.id,
        endpointId: endpoint.id,
        eventType: event.eventType,
        status: endpoint.status === "active" ? "queued" : "paused",
        attemptCount: 0,
        scheduleStep: 0,
        nextTrigger: "scheduled",
        nextAttemptAt: now,
        leaseUntil: null,
        // Set before the send so that a failed send is swept after the grace period, with no second write.
        enqueuedAt: now,
        lastStatusCode: null,
        lastError: null,
        lastAttemptAt: null,
        createdAt: now,
        updatedAt: now,
      }),
    );
    if (input.idempotencyKey) existing.set(input.idempotencyKey, { event, deliveries: rows });
    newEvents.push(event);
    newDeliveries.push(...rows);
    results.push({ created: true, event, deliveries: rows });
  }

  if (newEvents.length > 0) {
    const [first, ...rest] = [
      ...newEvents.map((event) => db.insert(events).values(event)),
      ...chunk(newDeliveries, DELIVERY_ROWS_PER_INSERT).map((rows) => db.insert(deliveries).values(rows)),
    ];
    await db.batch([first, ...rest]);
    await enqueueDeliveries(env, newDeliveries.filter((row) => row.status === "queued").map((row) => row.id));
  }
  return results;
}

async function findByIdempotencyKeys(db: Database, projectId: string, keys: string[]) {
  const found = new Map<string, { event: Event; deliveries: IngestResult["deliveries"] }>();
  if (keys.length === 0) return found;
  for (const part of chunk(keys, 90)) {
    const rows = await db.select().from(events).where(and(eq(events.projectId, projectId), inArray(events.idempotencyKey, part))).all();
    for (const event of rows) found.set(event.idempotencyKey!, { event, deliveries: [] });
  }
  const byEventId = new Map([...found.values()].map((entry) => [entry.event.id, entry]));
  if (byEventId.size > 0) {
    for (const part of chunk([...byEventId.keys()], 90)) {
      const rows = await db
        .select({ id: deliveries.id, endpointId: deliveries.endpointId, status: deliveries.status, eventId: deliveries.eventId })
        .from(deliveries)
        .where(inArray(deliveries.eventId, part))
        .all();
      for (const row of rows) {
        byEventId.get(row.eventId)!.deliveries.push({ id: row.id, endpointId: row.endpointId, status: row.status });
      }
    }
  }
  return found;
}
