// Open-loop sender: POSTs N events at a fixed rate, each carrying its own send time, whatever the answers take.
import { setTimeout as sleep } from "node:timers/promises";
import { percentile } from "./stats.mjs";

/**
 * @param {{apiUrl: string, apiKey: string, rate: number, count: number, eventType: string, run: string}} opts
 *   `run` tags every payload so a receiver can tell runs apart
 * @returns {Promise<{firstSendAt: number, lastSendAt: number, lastAnswerAt: number, achievedRate: number, accepted: Set<number>,
 *   answeredAt: Map<number, number>, failures: {status: string, body: string}[], statuses: Record<string, number>,
 *   ingestP50: number|null, ingestP99: number|null}>}
 */
export async function sendAtRate({ apiUrl, apiKey, rate, count, eventType, run }) {
  const url = `${apiUrl}/api/v1/events`;
  const headers = { "content-type": "application/json", authorization: `Bearer ${apiKey}` };
  /** @type {Record<string, number>} */
  const statuses = {};
  /** @type {number[]} */
  const ingestMs = [];
  const accepted = new Set();
  /** @type {Map<number, number>} seq → when its 2xx answer arrived */
  const answeredAt = new Map();
  /** @type {{status: string, body: string}[]} the first few non-2xx answers, to tell what they were */
  const failures = [];
  let lastAnswerAt = 0;
  const sendOne = async (seq) => {
    const sentAt = Date.now();
    const t = performance.now();
    let key;
    try {
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ eventType, payload: { run, seq, sentAt } }), signal: AbortSignal.timeout(60_000) });
      const text = await res.text();
      key = String(res.status);
      if (res.status >= 200 && res.status < 300) {
        accepted.add(seq);
        answeredAt.set(seq, Date.now());
      } else if (failures.length < 5) failures.push({ status: key, body: text.slice(0, 300) });
    } catch (err) {
      key = `error:${/** @type {any} */ (err).cause?.code ?? /** @type {Error} */ (err).name}`;
      if (failures.length < 5) failures.push({ status: key, body: String(/** @type {any} */ (err).cause ?? err).slice(0, 300) });
    }
    ingestMs.push(performance.now() - t);
    statuses[key] = (statuses[key] ?? 0) + 1;
    lastAnswerAt = Date.now();
  };

  const start = performance.now();
  const firstSendAt = Date.now();
  let lastSendAt = firstSendAt;
  const inflight = [];
  for (let seq = 0; seq < count; seq++) {
    const wait = start + (seq * 1000) / rate - performance.now();
    if (wait >= 1) await sleep(wait);
    lastSendAt = Date.now();
    inflight.push(sendOne(seq));
  }
  await Promise.all(inflight);
  return {
    firstSendAt,
    lastSendAt,
    lastAnswerAt,
    achievedRate: count > 1 ? (count - 1) / ((lastSendAt - firstSendAt) / 1000) : count,
    accepted,
    answeredAt,
    failures,
    statuses,
    ingestP50: percentile(ingestMs, 50),
    ingestP99: percentile(ingestMs, 99),
  };
}
