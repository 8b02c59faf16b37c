// Scenario 1: closed-loop ingest (autocannon, c=50) on POST /api/v1/events, interleaved round by round with the no-op ceiling.
// Ferry runs twice per round: to an active endpoint (its deliveries are sent meanwhile, on the same workerd thread), and
// to a disabled one, whose deliveries are written (`paused`) but not sent, which prices the ingest request alone.
import { cpuMeter } from "../lib/cpu.mjs";
import { perDelivered, readCounts, resetCounts } from "../lib/counts.mjs";
import { pricePerMillion } from "../lib/pricing.mjs";
import { autocannon } from "../lib/load.mjs";
import { createEndpoint, createProject, waitDrained } from "../lib/ferry-setup.mjs";
import { startNoop } from "../lib/runtimes.mjs";
import { median } from "../lib/stats.mjs";
import { fmtLoad, loadAvg } from "../lib/sysinfo.mjs";

/** @param {import("../run.mjs").Context} ctx */
export async function ingest({ runtime, ferry, receiver, cfg, log }) {
  const noop = await startNoop(runtime);
  try {
    const p = await createProject(ferry, `bench-ingest-${runtime}`);
    const path = `/ingest-${runtime}`;
    receiver.route(path, { status: 200 });
    await createEndpoint(p, receiver.url(path));
    const paused = await createProject(ferry, `bench-ingest-paused-${runtime}`);
    const pausedEndpoint = await createEndpoint(paused, receiver.url(path));
    await paused.call("POST", `/endpoints/${pausedEndpoint.id}/disable`);
    const body = JSON.stringify({ eventType: "bench.ingest", payload: { order: "ord_123", amount: 4200, currency: "EUR" } });
    const targets = {
      noop: { url: noop.url, headers: {} },
      ferry: { url: `${ferry.apiUrl}/api/v1/events`, headers: { authorization: `Bearer ${p.apiKey}` } },
      ferryPaused: { url: `${ferry.apiUrl}/api/v1/events`, headers: { authorization: `Bearer ${paused.apiKey}` } },
    };

    // Warm-up (not reported): the first requests pay for isolate start-up and D1/DO first use.
    for (const t of Object.values(targets)) await autocannon({ ...t, connections: cfg.connections, seconds: cfg.warmupSeconds, body });
    await waitDrained(p, { timeoutMs: cfg.drainTimeoutMs });
    receiver.reset();

    const runs = [];
    let deliveriesBefore = (await waitDrained(p, { timeoutMs: 0 })).deliveries;
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const target of /** @type {const} */ (["noop", "ferry", "ferryPaused"])) {
        const loadBefore = loadAvg();
        const startedAt = new Date().toISOString();
        log(`ingest ${target} round ${round}: load ${fmtLoad(loadBefore)}`);
        if (target === "ferry") await resetCounts(ferry);
        const cpu = cpuMeter(target === "noop" ? noop.pgid : ferry.pgid);
        const r = await autocannon({ ...targets[target], connections: cfg.connections, seconds: cfg.ingestSeconds, body });
        const cpuDuringRun = cpu();
        log(`  ${r.rps.toFixed(1)} rps, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}; CPU ${JSON.stringify(cpuDuringRun.byName)}`);
        /** @type {Record<string, unknown>} */
        const run = { target, round, startedAt, loadBefore, ...r, cpuDuringRun, cpuMsPerRequest: r.completed ? cpuDuringRun.totalMs / r.completed : null };
        if (target === "ferry") {
          // Let the delivery backlog drain so it does not compete with the next run.
          const backlog = await waitDrained(p, { timeoutMs: 0 });
          const drain = await waitDrained(p, { timeoutMs: cfg.drainTimeoutMs });
          // CPU for ingest plus delivering everything accepted (the run and its drain), per accepted event.
          const cpuWithDrain = cpu();
          const webhookIds = receiver.requests(path).map((r) => r.headers["webhook-id"]);
          const unique = new Set(webhookIds).size;
          const counts = await readCounts(ferry);
          const per = perDelivered(counts, unique);
          run.delivery = {
            acceptedInclInFlight: drain.deliveries - deliveriesBefore,
            backlogAtEnd: backlog.pending,
            drained: drain.drained,
            drainMs: drain.waitedMs,
            drainRate: drain.waitedMs > 0 ? backlog.pending / (drain.waitedMs / 1000) : null,
            receiverUnique: unique,
            receiverDuplicates: webhookIds.length - unique,
            failed: drain.failed,
            cpuWithDrain,
            cpuMsPerEvent: drain.deliveries - deliveriesBefore ? cpuWithDrain.totalMs / (drain.deliveries - deliveriesBefore) : null,
            counts,
            per,
          };
          run.delivery.price = pricePerMillion(per, run.delivery.cpuMsPerEvent);
          log(`  backlog ${backlog.pending} drained in ${(drain.waitedMs / 1000).toFixed(1)} s (${drain.drained ? "ok" : "NOT drained"}), receiver got ${unique} (+${webhookIds.length - unique} dup)`);
          deliveriesBefore = drain.deliveries;
          receiver.reset();
        }
        runs.push(run);
      }
    }
    const rps = (t) => runs.filter((r) => r.target === t).map((r) => /** @type {number} */ (r.rps));
    const pick = (t, k) => runs.filter((r) => r.target === t).map((r) => /** @type {number} */ (r[k]));
    const noopRps = median(rps("noop"));
    const ferryRps = median(rps("ferry"));
    const aloneRps = median(rps("ferryPaused"));
    const pairwise = runs.filter((r) => r.target === "ferry").map((f) => f.rps / /** @type {number} */ (runs.find((n) => n.target === "noop" && n.round === f.round)?.rps));
    return {
      runs,
      summary: {
        noop: { rps: noopRps, p50: median(pick("noop", "p50")), p99: median(pick("noop", "p99")) },
        ferry: { rps: ferryRps, p50: median(pick("ferry", "p50")), p99: median(pick("ferry", "p99")), non2xx: pick("ferry", "non2xx").reduce((a, b) => a + b, 0), errors: pick("ferry", "errors").reduce((a, b) => a + b, 0) },
        ratio: ferryRps && noopRps ? ferryRps / noopRps : null,
        pairwise,
        ingestAlone: { rps: aloneRps, ratio: aloneRps && noopRps ? aloneRps / noopRps : null, cpuMsPerRequest: median(pick("ferryPaused", "cpuMsPerRequest")) },
        cpuMsPerRequest: { noop: median(pick("noop", "cpuMsPerRequest")), ferryIngestOnly: median(pick("ferry", "cpuMsPerRequest")), ferryWithDelivery: median(runs.filter((r) => r.delivery).map((r) => /** @type {any} */ (r.delivery).cpuMsPerEvent)) },
        // Split the CPU between the two halves: the drain has no ingest, so it prices one delivery; what the run used
        // beyond the deliveries it made meanwhile is the ingest cost.
        cpuSplit: splitCpu(runs.filter((r) => r.delivery)),
        drainRate: median(runs.filter((r) => r.delivery).map((r) => /** @type {any} */ (r.delivery).drainRate ?? 0)),
        // The last round's exact counts per delivered event (single-event ingest, c=50, one endpoint).
        per: /** @type {any} */ (runs.filter((r) => r.delivery).at(-1))?.delivery.per,
        price: /** @type {any} */ (runs.filter((r) => r.delivery).at(-1))?.delivery.price,
      },
    };
  } finally {
    await noop.stop();
  }
}

/** Median ingest-only and delivery-only CPU ms per event over the Ferry runs. @param {any[]} ferryRuns */
function splitCpu(ferryRuns) {
  const ingestMs = [];
  const deliveryMs = [];
  for (const r of ferryRuns) {
    const d = r.delivery;
    if (!d.backlogAtEnd || !d.acceptedInclInFlight) continue;
    const perDelivery = (d.cpuWithDrain.totalMs - r.cpuDuringRun.totalMs) / d.backlogAtEnd;
    const deliveredDuringRun = Math.max(0, d.acceptedInclInFlight - d.backlogAtEnd);
    deliveryMs.push(perDelivery);
    ingestMs.push((r.cpuDuringRun.totalMs - deliveredDuringRun * perDelivery) / d.acceptedInclInFlight);
  }
  return { ingestMsPerEvent: median(ingestMs), deliveryMsPerEvent: median(deliveryMs) };
}
