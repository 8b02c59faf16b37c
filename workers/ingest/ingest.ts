/**
 * @module Ingest: validated events in, one D1 batch out (events + one delivery per subscribed endpoint),
 * then delivery ids onto the queue. Idempotency keys make a repeated request return the original event.
 */
import { and, eq, inArray } from "drizzle-orm";
import { storeEventBodies } from "../db/bodies";
import { chunk, database, type Database } from "../db/client";
import { newId } from "../db/ids";
import { deliveries, events, type Delivery, type Event } from "../db/schema";
import { enqueueDeliveries } from "../queue/delivery-queue";
import { insertDeliveries, type FannedDelivery } from "./fan-out";

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

/** Idempotency keys must be unique within one call (the API refuses repeats in a batch). */
async function writeEvents(env: Env, db: Database, projectId: string, inputs: readonly EventInput[]): Promise<IngestResult[]> {
  const existing = await findByIdempotencyKeys(db, projectId, inputs.flatMap((input) => input.idempotencyKey ?? []));
  const now = Date.now();
  const results: IngestResult[] = [];
  const fresh: { result: IngestResult; endpointIds?: string[] }[] = [];
  for (const input of inputs) {
    const earlier = input.idempotencyKey ? existing.get(input.idempotencyKey) : undefined;
    if (earlier) {
      results.push({ created: false, ...earlier });
      continue;
    }
    const event: Event = {
      id: newId("event", now),
      projectId,
      eventType: input.eventType,
      body: webhookBody(input.eventType, new Date(now), input.payload),
      idempotencyKey: input.idempotencyKey ?? null,
      createdAt: new Date(now),
    };
    const result: IngestResult = { created: true, event, deliveries: [] };
    results.push(result);
    fresh.push({ result, endpointIds: input.endpointIds });
  }
  // Large bodies go to R2 before their rows exist, so no row ever points at a missing object.
  const storedBodies = await storeEventBodies(env, fresh.map(({ result }) => result.event));
  const statements = fresh.flatMap(({ result: { event }, endpointIds }, i) => [
    db.insert(events).values({ ...event, body: storedBodies[i] }),
    insertDeliveries(db, { projectId, eventId: event.id, eventType: event.eventType, endpointIds, now }),
  ]);
  if (statements.length === 0) return results;

  const [first, ...rest] = statements;
  const written = await db.batch([first, ...rest]);
  fresh.forEach(({ result }, i) => (result.deliveries = written[2 * i + 1] as FannedDelivery[]));
  // Deliveries are written with `enqueued_at` = now, so one whose message fails to send is swept after the grace period.
  await enqueueDeliveries(env, fresh.flatMap(({ result }) => result.deliveries.filter((d) => d.status === "queued").map((d) => d.id)));
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
