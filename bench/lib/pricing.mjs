// Cloudflare's public list prices (Workers Paid / Standard usage model), beyond the monthly allowances,
// as stored in cloudflare/cloudflare-docs and read on 2026-12-01 (see /work/shared/reference/cloudflare.md):
// workers/platform/pricing (Workers and Workflows pages, "Last updated Apr 21, 2026"), partials/workers/d1-pricing.mdx,
// partials/workers/queues_pricing.mdx, partials/durable-objects/durable-objects-pricing.mdx.
export const PRICES = {
  date: "2026-12-01 (pages last updated 2026-04-21)",
  usdPerMillion: {
    workerRequests: 0.3,
    workerCpuMs: 0.02,
    d1RowsRead: 0.001,
    d1RowsWritten: 1.0,
    // One operation per 64 KB written, read or deleted: a delivered message is a write, a read and a delete.
    queueOperations: 0.4,
    doRequests: 0.15,
  },
  leftOut: "DO duration (GB-s), D1 storage, Workers Logs and the monthly allowances are left out: they do not grow per delivery in this design, or are free tiers.",
};

/**
 * What one million deliveries cost, from exact counts per delivered event (per.*) and the CPU measured per event.
 * Queue operations = messages written + read + acked (a retry is one more read).
 * @param {ReturnType<typeof import("./counts.mjs").perDelivered>} per
 * @param {number|null} cpuMsPerEvent
 */
export function pricePerMillion(per, cpuMsPerEvent) {
  const p = PRICES.usdPerMillion;
  const lines = {
    workerRequests: (per.workerRequests ?? 0) * p.workerRequests,
    workerCpuMs: (cpuMsPerEvent ?? 0) * p.workerCpuMs,
    d1RowsRead: per.rowsRead * p.d1RowsRead,
    d1RowsWritten: per.rowsWritten * p.d1RowsWritten,
    queueOperations: per.queueOperations * p.queueOperations,
    doRequests: per.doRequests * p.doRequests,
  };
  return { ...lines, total: Object.values(lines).reduce((a, b) => a + b, 0) };
}
