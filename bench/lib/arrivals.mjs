// Reads what a receiver path got: one row per request with the sender's seq and send time, plus delivery latency stats.
import { setTimeout as sleep } from "node:timers/promises";
import { latencySummary } from "./stats.mjs";

/**
 * @param {import("../../test/e2e/support/receiver.mjs").Receiver} receiver
 * @param {string} path
 * @param {string} run  only payloads tagged with this run count
 */
export function arrivals(receiver, path, run) {
  const rows = [];
  for (const r of receiver.requests(path)) {
    const data = payloadOf(r);
    if (data?.run === run) rows.push({ seq: data.seq, sentAt: data.sentAt, receivedAt: r.receivedAt, webhookId: r.headers["webhook-id"] });
  }
  return rows;
}

/** Each request's body is parsed once: waitArrivals polls over every request of a run (18,000 at 300/s) while the backlog drains. */
const parsedPayloads = new WeakMap();

/** @param {import("../../test/e2e/support/receiver.mjs").ReceivedRequest} request */
function payloadOf(request) {
  if (!parsedPayloads.has(request)) {
    let data = null;
    try {
      data = JSON.parse(request.body).data ?? null;
    } catch {
      // not one of ours
    }
    parsedPayloads.set(request, data);
  }
  return parsedPayloads.get(request);
}

/**
 * Unique deliveries, duplicates and first-arrival latency per event: from the sender's send time, and (when the
 * ingest answers are given) from the moment its 202 arrived, which leaves out time spent queued at ingest.
 * @param {ReturnType<typeof arrivals>} rows
 * @param {Map<number, number>} [answeredAt]  seq → when the sender got the 2xx
 */
export function deliveryStats(rows, answeredAt) {
  /** @type {Map<number, number>} */
  const first = new Map();
  /** @type {number[]} */
  const fromAccepted = [];
  let duplicates = 0;
  for (const r of rows) {
    if (first.has(r.seq)) {
      duplicates++;
      continue;
    }
    first.set(r.seq, r.receivedAt - r.sentAt);
    const answered = answeredAt?.get(r.seq);
    if (answered !== undefined) fromAccepted.push(r.receivedAt - answered);
  }
  const lastArrival = rows.reduce((m, r) => Math.max(m, r.receivedAt), 0);
  return {
    delivered: first.size,
    duplicates,
    latency: latencySummary([...first.values()]),
    fromAccepted: answeredAt ? latencySummary(fromAccepted) : null,
    lastArrival,
  };
}

/**
 * First-arrival latency of the events sent in [from, to).
 * @param {ReturnType<typeof arrivals>} rows @param {number} from @param {number} to
 */
export function latencyOfSends(rows, from, to) {
  return deliveryStats(rows.filter((r) => r.sentAt >= from && r.sentAt < to)).latency;
}

/**
 * Wait until `want()` is true, or nothing new arrived at `path` for `quietMs`, or `timeoutMs` passed.
 * @param {import("../../test/e2e/support/receiver.mjs").Receiver} receiver
 * @param {string} path
 * @param {() => boolean} want
 * @param {{quietMs: number, timeoutMs: number}} opts
 * @returns {Promise<"complete"|"quiet"|"timeout">}
 */
export async function waitArrivals(receiver, path, want, { quietMs, timeoutMs }) {
  const t0 = Date.now();
  let count = receiver.requests(path).length;
  let changedAt = Date.now();
  for (;;) {
    if (want()) return "complete";
    const now = receiver.requests(path).length;
    if (now !== count) {
      count = now;
      changedAt = Date.now();
    }
    if (Date.now() - changedAt > quietMs) return "quiet";
    if (Date.now() - t0 > timeoutMs) return "timeout";
    await sleep(250);
  }
}
