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
    try {
      const { data } = JSON.parse(r.body);
      if (data?.run === run) rows.push({ seq: data.seq, sentAt: data.sentAt, receivedAt: r.receivedAt, webhookId: r.headers["webhook-id"] });
    } catch {
      // not one of ours
    }
  }
  return rows;
}

/**
 * Unique deliveries, duplicates and first-arrival latency per event.
 * @param {ReturnType<typeof arrivals>} rows
 */
export function deliveryStats(rows) {
  /** @type {Map<number, number>} */
  const first = new Map();
  let duplicates = 0;
  for (const r of rows) {
    const seen = first.get(r.seq);
    if (seen === undefined) first.set(r.seq, r.receivedAt - r.sentAt);
    else duplicates++;
  }
  const lastArrival = rows.reduce((m, r) => Math.max(m, r.receivedAt), 0);
  return { delivered: first.size, duplicates, latency: latencySummary([...first.values()]), lastArrival };
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
