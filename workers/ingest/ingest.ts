/**
 * @module Ingest: validated events in, the events and their deliveries in D1 before anyone is answered,
 * then the first attempts dispatched. Concurrent requests in one isolate share the D1 write and the queue
 * send (window.ts); a shared write that fails is retried per request, so one request's failure is its own.
 * Idempotency keys make a repeated request return the original event.
 */
import { storeEventBodies } from "../db/bodies";
import { idFloor, newId } from "../db/ids";
import type { BodyFormat } from "../db/schema";
import { dispatchFirstAttempts, type SendFirstAttempts } from "./dispatch";
import { Coalescer, type Pending } from "./window";
import { writeEvents, type WriteOutcome, type WrittenEvent } from "./write";

export type EventInput = {
  eventType: string;
  payload: unknown;
  /** `JSON.stringify(payload)`, when the caller has it already (the API measures it). */
  payloadJson?: string;
  idempotencyKey?: string;
  /** The application's id (already resolved from a uid); it fans out to that application's endpoints only. */
  applicationId?: string;
  endpointIds?: readonly string[];
  /** Default "envelope"; "payload" sends the payload's JSON alone (the Svix API's messages). */
  bodyFormat?: BodyFormat;
};

export type IngestResult = WriteOutcome;

export type IngestOptions = {
  /** The request's `ctx.waitUntil`: a request that runs a shared write keeps it alive past its own answer. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** The delivery path's fast path; without it (meta events, say) every first attempt goes on the queue. */
  sendFirstAttempts?: SendFirstAttempts;
};

/** Whoever starts a shared write lends it their bindings, their fast path and their `waitUntil`. */
type WriteContext = { env: Env } & IngestOptions;

/**
 * The exact bytes every attempt will send: `{"type","timestamp","data"}`. Given the payload's JSON, the
 * body is spliced from it (the same bytes `JSON.stringify` makes) rather than serialising the payload twice.
 */
function webhookBody(eventType: string, timestamp: string, payload: unknown, payloadJson?: string, format: BodyFormat = "envelope"): string {
  if (format === "payload") return payloadJson ?? JSON.stringify(payload);
  if (payloadJson === undefined) return JSON.stringify({ type: eventType, timestamp, data: payload });
  return `{"type":${JSON.stringify(eventType)},"timestamp":"${timestamp}","data":${payloadJson}}`;
}

/** The payload an event was sent with, read back from the bytes it sends. */
export function payloadOf(body: string, format: BodyFormat) {
  const parsed = JSON.parse(body);
  return format === "payload" ? parsed : parsed.data;
}

/** Idempotency keys must be unique within one call (the API refuses repeats in a batch). */
export async function ingestEvents(env: Env, projectId: string, inputs: readonly EventInput[], { waitUntil, sendFirstAttempts }: IngestOptions = {}): Promise<IngestResult[]> {
  const now = Date.now();
  // Every event of a call shares its time, so the time's two spellings are made once.
  const timestamp = new Date(now).toISOString();
  const deliveryIdFloor = idFloor("delivery", now);
  const written = inputs.map(
    (input): WrittenEvent => ({
      id: newId("event", now),
      projectId,
      eventType: input.eventType,
      applicationId: input.applicationId ?? null,
      body: webhookBody(input.eventType, timestamp, input.payload, input.payloadJson, input.bodyFormat),
      bodyFormat: input.bodyFormat ?? "envelope",
      idempotencyKey: input.idempotencyKey ?? null,
      createdAt: now,
      deliveryIdFloor,
      endpointIds: input.endpointIds ?? null,
    }),
  );
  // Large bodies go to R2 before their rows exist (each request stores its own), so no row points at a missing object.
  const stored = await storeEventBodies(env, written);
  written.forEach((event, i) => (event.body = stored[i]));
  const coalescer = coalescerFor(env);
  const { item, runs } = coalescer.submit(written, written.length, { env, sendFirstAttempts, waitUntil });
  if (runs && waitUntil) waitUntil(runs);
  const outcomes = await coalescer.outcome(item);
  // Without waitUntil (a queue consumer, a test) what this call started is finished before it returns.
  if (runs && !waitUntil) await runs;
  return outcomes;
}

/** Events per shared write: about one D1 batch of a few hundred rows. */
const WINDOW_EVENTS = 400;
const WINDOW_MS = 2;
const POLL_MS = 1;
const DEADLINE_MS = 25_000;
/** Two writes in flight per isolate hide one round trip; D1 runs them one at a time anyway. */
const WRITES_IN_FLIGHT = 2;

type Batch = Pending<WrittenEvent[], IngestResult[]>;

// One window per pair of bindings: requests share a write only if they write to the same D1 and queue.
const coalescers = new WeakMap<D1Database, WeakMap<Queue, Coalescer<WrittenEvent[], IngestResult[], WriteContext>>>();

function coalescerFor(env: Env) {
  let byQueue = coalescers.get(env.DB);
  if (!byQueue) coalescers.set(env.DB, (byQueue = new WeakMap()));
  let coalescer = byQueue.get(env.DELIVERY_QUEUE);
  if (!coalescer) {
    coalescer = new Coalescer({ windowMs: WINDOW_MS, maxWeight: WINDOW_EVENTS, maxInFlight: WRITES_IN_FLIGHT, pollMs: POLL_MS, deadlineMs: DEADLINE_MS, flush: (batches, leader) => writeShared(leader, batches) });
    byQueue.set(env.DELIVERY_QUEUE, coalescer);
  }
  return coalescer;
}

/**
 * One D1 batch for every request of the window. If it fails, nothing of it was stored — or, if the failure
 * came after the commit, all of it — so each request is written again alone with the same ids (`recheck`),
 * and gets its own answer: its events, or its own error. Nobody is answered before their events are stored.
 */
async function writeShared({ env, sendFirstAttempts, waitUntil }: WriteContext, batches: Batch[]): Promise<void> {
  const now = Date.now();
  const settled: IngestResult[][] = [];
  try {
    const results = await write(env.DB, batches.flatMap((batch) => batch.input), now, false);
    let offset = 0;
    for (const batch of batches) {
      const own = results.slice(offset, (offset += batch.input.length));
      batch.outcome = { ok: true, value: own };
      settled.push(own);
    }
  } catch (error) {
    if (batches.length === 1) {
      batches[0].outcome = { ok: false, error };
      return;
    }
    await Promise.all(
      batches.map(async (batch) => {
        try {
          const own = await write(env.DB, batch.input, now, true);
          batch.outcome = { ok: true, value: own };
          settled.push(own);
        } catch (own) {
          batch.outcome = { ok: false, error: own };
        }
      }),
    );
  }
  const dispatched = dispatchFirstAttempts(
    env,
    settled.flat().flatMap((result) => (result.created ? result.deliveries.filter((d) => d.status === "queued").map(({ id, endpointId }) => ({ id, endpointId })) : [])),
    sendFirstAttempts,
  );
  // The write is done once committed: the fast path's sends must not hold one of the window's write slots.
  if (waitUntil) waitUntil(dispatched);
  else await dispatched;
}

async function write(db: D1Database, written: WrittenEvent[], now: number, recheck: boolean): Promise<IngestResult[]> {
  const { statements, read } = writeEvents(db, written, now, { recheck });
  return read(await db.batch(statements));
}
