// Exact operation counts from the bench build of Ferry (bench/counted): read, reset, and divided per delivered event.

/** @param {{apiUrl: string}} ferry */
export async function resetCounts(ferry) {
  const res = await fetch(`${ferry.apiUrl}/__bench/counts`, { method: "POST" });
  if (!res.ok) throw new Error(`POST /__bench/counts answered ${res.status}`);
}

/** @param {{apiUrl: string}} ferry @returns {Promise<import("../counted/bindings").Counts>} */
export async function readCounts(ferry) {
  const res = await fetch(`${ferry.apiUrl}/__bench/counts`);
  if (!res.ok) throw new Error(`GET /__bench/counts answered ${res.status}`);
  return /** @type {any} */ (await res.json());
}

/**
 * Counts per delivered event. The bench's own API calls (GET /stats while waiting) are Worker requests too, so
 * `apiCalls` of them are taken out of the fetch requests.
 * @param {import("../counted/bindings").Counts} c @param {number} delivered @param {number} [apiCalls]
 */
export function perDelivered(c, delivered, apiCalls = 0) {
  const d = delivered || NaN;
  return {
    delivered,
    d1RoundTrips: c.d1.roundTrips / d,
    d1Statements: c.d1.statements / d,
    d1ReadStatements: c.d1.readStatements / d,
    d1WriteStatements: c.d1.writeStatements / d,
    rowsRead: c.d1.rowsRead / d,
    rowsWritten: c.d1.rowsWritten / d,
    doRequests: c.doRequests / d,
    queueOperations: (c.queue.written + c.queue.read + c.queue.acked) / d,
    queueSendCalls: c.queue.sendCalls / d,
    outboundFetches: c.outboundFetches / d,
    workerRequests: (c.workerRequests.fetch - apiCalls + c.workerRequests.queue) / d,
  };
}
