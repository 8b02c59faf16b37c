/**
 * @module First attempts sent by the ingest requests that committed them, after their answers (`waitUntil`).
 * Concurrent writes in an isolate share one pass of the delivery path for up to one connection per
 * delivery: at a few events per second each write goes alone, a few milliseconds after its commit; at
 * hundreds, a pass carries several writes' deliveries for the same one read, claim, record and DO exchange.
 * When every pass is busy and another is already waiting, the deliveries go on the queue instead.
 * Production gives that work 30 s after the answer, so deliveries to endpoints whose timeout could outlast
 * it go on the queue too; a request that dies mid-send leaves a lease that lapses, like any sender.
 */
import { config } from "../config";
import { Coalescer, type Pending } from "../ingest/window";
import { ConnectionLimiter, WEBHOOK_CONNECTIONS } from "../outbound/connection-limiter";
import { enqueueDeliveries } from "../queue/delivery-queue";
import { deliverBatch } from "./deliver";

/** With signing, recording and the DO's answers around it, a send this long still ends within the 30 s. */
const FAST_PATH_MAX_TIMEOUT_MS = 20_000;
/** A pass sends at most one round: one connection per delivery, so none waits for another. */
const PASS_DELIVERIES = WEBHOOK_CONNECTIONS;
const PASS_WINDOW_MS = 2;
/** Passes running at once in an isolate; each uses the connections of the request that started it. */
const PASSES_IN_FLIGHT = 3;
const POLL_MS = 1;

const passes = new WeakMap<D1Database, Coalescer<readonly string[], void, Env>>();

function passesFor(env: Env) {
  let coalescer = passes.get(env.DB);
  if (!coalescer) {
    // Nobody waits for a pass's outcome (`deadlineMs` unused): D1 says what each delivery became.
    coalescer = new Coalescer({ windowMs: PASS_WINDOW_MS, maxWeight: PASS_DELIVERIES, maxInFlight: PASSES_IN_FLIGHT, pollMs: POLL_MS, deadlineMs: 0, flush: sendPass });
    passes.set(env.DB, coalescer);
  }
  return coalescer;
}

/**
 * Resolves false at once when the fast path is too busy to take them (the caller enqueues them), true once
 * they are sent or have joined a pass another request runs. Never rejects.
 */
export async function sendFirstAttempts(env: Env, deliveryIds: readonly string[]): Promise<boolean> {
  const coalescer = passesFor(env);
  if (coalescer.isBacklogged(deliveryIds.length)) return false;
  const { runs } = coalescer.submit(deliveryIds, deliveryIds.length, env);
  if (runs) await runs;
  return true;
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
