// Ferry API steps the scenarios need: a project with its key, endpoints, thresholds, and waiting for the backlog to drain.
import { setTimeout as sleep } from "node:timers/promises";

/** The bench's own calls are left out of Ferry's operation counts (bench/counted/worker.ts). */
const UNCOUNTED = { "x-bench-uncounted": "1" };

/**
 * Create a project (admin) and return a client bound to its API key.
 * @param {import("./runtimes.mjs").Ferry} ferry
 * @param {string} name
 * @param {Record<string, unknown>} [settings]  PATCH /project body, e.g. `{circuitOpenAfter: 1000, disableAfter: 100000}`
 */
export async function createProject(ferry, name, settings) {
  const created = await ferry.api("POST", "/projects", { name }, ferry.adminToken, UNCOUNTED);
  if (created.status !== 201) throw new Error(`POST /projects answered ${created.status}: ${created.text}`);
  const apiKey = created.body.apiKey;
  /** @param {string} method @param {string} path @param {unknown} [body] */
  const call = async (method, path, body) => {
    const res = await ferry.api(method, path, body, apiKey, UNCOUNTED);
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${res.text}`);
    return res.body;
  };
  const project = settings ? await call("PATCH", "/project", settings) : created.body;
  return { id: created.body.id, apiKey, project, call };
}

/** @param {{call: Function}} p @param {string} url */
export async function createEndpoint(p, url, extra = {}) {
  return /** @type {{id: string}} */ (await p.call("POST", "/endpoints", { url, ...extra }));
}

/**
 * Wait until the project has no delivery left queued, sending or retrying (GET /stats `pending`).
 * @param {{call: Function}} p
 * @param {{timeoutMs: number, intervalMs?: number}} opts
 * @returns {Promise<{drained: boolean, waitedMs: number, pending: number, succeeded: number, failed: number, deliveries: number}>}
 */
export async function waitDrained(p, { timeoutMs, intervalMs = 1000 }) {
  const t0 = Date.now();
  for (;;) {
    let s;
    try {
      s = await p.call("GET", "/stats?bucketMinutes=1440");
    } catch {
      s = null;
    }
    const waitedMs = Date.now() - t0;
    if (s && s.pending === 0) return { drained: true, waitedMs, pending: 0, succeeded: s.succeeded, failed: s.failed, deliveries: s.deliveries };
    if (waitedMs > timeoutMs) return { drained: false, waitedMs, pending: s?.pending ?? -1, succeeded: s?.succeeded ?? -1, failed: s?.failed ?? -1, deliveries: s?.deliveries ?? -1 };
    await sleep(intervalMs);
  }
}

/**
 * What is still pending and why, for a report on deliveries that never arrived: counts per status (first page of 100)
 * and a few examples, so a lost queue message (stuck `queued`) can be told from a lost send (stuck `sending`).
 * @param {{call: Function}} p
 */
export async function pendingBreakdown(p) {
  /** @type {Record<string, {count: number, examples: unknown[]}>} */
  const out = {};
  for (const status of ["queued", "sending", "retrying"]) {
    const page = await p.call("GET", `/deliveries?status=${status}&limit=100`).catch(() => null);
    const rows = page?.data ?? [];
    if (rows.length === 0) continue;
    out[status] = {
      count: rows.length,
      examples: rows.slice(0, 3).map((d) => ({ id: d.id, attempts: d.attemptCount, lastAttemptAt: d.lastAttemptAt, lastError: d.lastError, updatedAt: d.updatedAt })),
    };
  }
  return out;
}
