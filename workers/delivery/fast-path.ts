/**
 * @module First attempts sent by the ingest requests that committed them, after their answers (`waitUntil`).
 * Each endpoint has its own passes of the delivery path, so a slow endpoint's sends never hold another's:
 * writes in an isolate that commit deliveries to the same endpoint within a few milliseconds share one
 * pass of up to one connection per delivery. At a few events per second each write goes alone; at hundreds,
 * a pass carries several writes' deliveries for the same one read, claim, record and DO exchange. When an
 * endpoint's passes are all busy and another is already waiting, its deliveries go on the queue instead.
 * Production gives that work 30 s after the answer, so deliveries to endpoints whose timeout could outlast
 * it go on the queue too; a request that dies mid-send leaves a lease that lapses, like any sender.
 */
import { config } from "../config";
import type { FirstAttempt } from "../ingest/dispatch";
import { Coalescer, type Pending } from "../ingest/window";
import { ConnectionLimiter, WEBHOOK_CONNECTIONS } from "../outbound/connection-limiter";
import { enqueueDeliveries } from "../queue/delivery-queue";
import { deliverBatch } from "./deliver";

/** With signing, recording and the DO's answers around it, a send this long still ends within the 30 s. */
const FAST_PATH_MAX_TIMEOUT_MS = 20_000;
/** A pass sends at most one round: one connection per delivery, so none waits for another. */
const PASS_DELIVERIES = WEBHOOK_CONNECTIONS;
/** Long enough for writes a few milliseconds apart (hundreds per second) to share a pass's read, claim, record and DO exchange. */
const PASS_WINDOW_MS = 10;
/** Passes running at once for one endpoint; each has 5 connections of its own, in the request that started it. */
const PASSES_IN_FLIGHT = 3;
const POLL_MS = 1;

type EndpointPasses = Coalescer<readonly string[], void, Env>;

/** Per isolate and database: each endpoint's passes, kept only while one is open or running. */
const passesByDatabase = new WeakMap<D1Database, Map<string, EndpointPasses>>();

function passesOf(env: Env, endpointId: string): EndpointPasses {
  let byEndpoint = passesByDatabase.get(env.DB);
  if (!byEndpoint) passesByDatabase.set(env.DB, (byEndpoint = new Map()));
  let passes = byEndpoint.get(endpointId);
  if (!passes) {
    // Nobody waits for a pass's outcome (`deadlineMs` unused): D1 says what each delivery became.
    passes = new Coalescer({ windowMs: PASS_WINDOW_MS, maxWeight: PASS_DELIVERIES, maxInFlight: PASSES_IN_FLIGHT, pollMs: POLL_MS, deadlineMs: 0, flush: sendPass });
    byEndpoint.set(endpointId, passes);
  }
  return passes;
}

function forgetIfIdle(env: Env, endpointId: string, passes: EndpointPasses): void {
  const byEndpoint = passesByDatabase.get(env.DB);
  if (passes.isIdle() && byEndpoint?.get(endpointId) === passes) byEndpoint.delete(endpointId);
}

/**
 * Resolves, at once, with the ids the fast path is too busy to take (the caller enqueues them), and the
 * rest once they are sent or have joined a pass another request runs. Never rejects.
 */
export function sendFirstAttempts(env: Env, firstAttempts: readonly FirstAttempt[]): { left: string[]; sending: Promise<void> } {
  const left: string[] = [];
  const runs: Promise<void>[] = [];
  const byEndpoint = new Map<string, string[]>();
  for (const { id, endpointId } of firstAttempts) {
    const ids = byEndpoint.get(endpointId);
    if (ids) ids.push(id);
    else byEndpoint.set(endpointId, [id]);
  }
  for (const [endpointId, deliveryIds] of byEndpoint) {
    const passes = passesOf(env, endpointId);
    if (passes.isBacklogged(deliveryIds.length)) {
      left.push(...deliveryIds);
      continue;
    }
    const { runs: started } = passes.submit(deliveryIds, deliveryIds.length, env);
    if (started) runs.push(started.then(() => forgetIfIdle(env, endpointId, passes)));
  }
  return { left, sending: Promise.all(runs).then(() => undefined) };
}

async function sendPass(items: Pending<readonly string[], void>[], env: Env): Promise<void> {
  const deliveryIds = items.flatMap((item) => item.input);
  try {
    await deliverBatch(env, deliveryIds, { allowPrivateNetwork: config(env).allowPrivateNetwork, connections: new ConnectionLimiter(), maxTimeoutMs: FAST_PATH_MAX_TIMEOUT_MS });
  } catch (error) {
    // It throws only before anything was claimed: the queue carries them instead.
    console.error(JSON.stringify({ msg: "fast path not started; enqueuing", count: deliveryIds.length, error: String(error) }));
    await enqueueDeliveries(env, deliveryIds);
  }
  for (const item of items) item.outcome = { ok: true, value: undefined };
}
