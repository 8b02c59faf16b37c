// Scenario 3: a healthy endpoint's latency next to a slow failing neighbour (500 after 2 s) vs. next to a healthy one.
import { arrivals, deliveryStats, waitArrivals } from "../lib/arrivals.mjs";
import { cpuMeter } from "../lib/cpu.mjs";
import { createEndpoint, createProject } from "../lib/ferry-setup.mjs";
import { queueBatchesSince } from "../lib/queue-log.mjs";
import { sendAtRate } from "../lib/sender.mjs";
import { latencySummary } from "../lib/stats.mjs";
import { fmtLoad, loadAvg } from "../lib/sysinfo.mjs";

/** Opt-in (--hang): a neighbour that never answers, so each send waits for the endpoint's default 15 s timeout. */
export const HANG_VARIANT = {
  key: "hang-nobreaker",
  label: "hanging neighbour (never answers; 15 s timeout), circuitOpenAfter 1000 / disableAfter 100000",
  slow: true,
  hang: true,
  settings: { circuitOpenAfter: 1000, disableAfter: 100000 },
};

export const VARIANTS = [
  { key: "control", label: "control: both endpoints healthy", slow: false, settings: undefined },
  { key: "slow-nobreaker", label: "slow neighbour, circuitOpenAfter 1000 / disableAfter 100000", slow: true, settings: { circuitOpenAfter: 1000, disableAfter: 100000 } },
  { key: "slow-default", label: "slow neighbour, default thresholds (circuit opens after 5)", slow: true, settings: undefined },
];

/** @param {import("../run.mjs").Context} ctx */
export async function isolation({ runtime, ferry, receiver, cfg, log }) {
  const results = [];
  for (const v of /** @type {any[]} */ ([...VARIANTS, ...(cfg.hang ? [HANG_VARIANT] : [])])) {
    const p = await createProject(ferry, `bench-iso-${v.key}-${runtime}`, v.settings);
    const neighbourPath = `/iso-${runtime}-${v.key}-neighbour`;
    const healthyPath = `/iso-${runtime}-${v.key}-healthy`;
    receiver.route(neighbourPath, v.hang ? { hang: true } : v.slow ? { status: 500, delayMs: 2000, body: "slow and failing" } : { status: 200 });
    receiver.route(healthyPath, { status: 200 });
    const neighbour = await createEndpoint(p, receiver.url(neighbourPath));
    await createEndpoint(p, receiver.url(healthyPath));
    const count = cfg.isoRate * cfg.isoSeconds;
    const run = `iso-${runtime}-${v.key}-${Date.now()}`;
    const loadBefore = loadAvg();
    const startedAt = new Date().toISOString();
    log(`isolation ${v.key}: ${cfg.isoRate}/s for ${cfg.isoSeconds} s, load ${fmtLoad(loadBefore)}`);
    const cpu = cpuMeter(ferry.pgid);
    const batches = queueBatchesSince(ferry.outputPath);
    const sent = await sendAtRate({ apiUrl: ferry.apiUrl, apiKey: p.apiKey, rate: cfg.isoRate, count, eventType: "bench.isolation", run });
    const outcome = await waitArrivals(receiver, healthyPath, () => deliveryStats(arrivals(receiver, healthyPath, run)).delivered >= sent.accepted.size, {
      quietMs: cfg.quietMs,
      timeoutMs: cfg.isoWaitMs,
    });
    const healthy = deliveryStats(arrivals(receiver, healthyPath, run), sent.answeredAt);
    const used = cpu();
    const consumer = batches();
    const neighbourRows = arrivals(receiver, neighbourPath, run);
    const neighbourReqs = receiver.requests(neighbourPath);
    const result = {
      variant: v.key,
      label: v.label,
      settings: v.settings ?? "defaults",
      startedAt,
      loadBefore,
      achievedRate: sent.achievedRate,
      statuses: sent.statuses,
      failures: sent.failures,
      accepted: sent.accepted.size,
      healthy: { delivered: healthy.delivered, duplicates: healthy.duplicates, latency: healthy.latency, fromAccepted: healthy.fromAccepted, lastAfterLastSendMs: healthy.delivered ? healthy.lastArrival - sent.lastSendAt : null },
      neighbour: {
        hits: neighbourReqs.length,
        firstAttemptLatency: v.slow ? null : deliveryStats(neighbourRows).latency,
        // Arrival (request start at the receiver) latency of the slow neighbour's first attempts, for context.
        arrivalLatency: latencySummary(firstArrivals(neighbourRows)),
      },
      cpu: used,
      consumer,
      waitOutcome: outcome,
    };
    const l = healthy.latency;
    log(`  healthy ${healthy.delivered}/${sent.accepted.size}: p50 ${l.p50} / p90 ${l.p90} / p99 ${l.p99} / max ${l.max} ms; neighbour hits ${neighbourReqs.length}; ` +
        `consumer batches ${consumer.batches}, median size ${consumer.medianSize}, duration p50 ${consumer.durationMs?.p50} / max ${consumer.durationMs?.max} ms`);
    results.push(result);
    // Take the slow neighbour out: its pending deliveries are marked failed, so its retries cannot spill into the next variant.
    if (v.slow) await p.call("DELETE", `/endpoints/${neighbour.id}`);
    await new Promise((r) => setTimeout(r, 3000));
    receiver.reset();
  }
  return { runs: results };
}

/** @param {ReturnType<typeof arrivals>} rows */
function firstArrivals(rows) {
  const first = new Map();
  for (const r of rows) if (!first.has(r.seq)) first.set(r.seq, r.receivedAt - r.sentAt);
  return [...first.values()];
}
