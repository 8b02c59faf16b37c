// Scenario 2: N events at a fixed rate to one healthy endpoint; the receiver measures send-to-arrival latency and throughput.
import { arrivals, deliveryStats, latencyOfSends, waitArrivals } from "../lib/arrivals.mjs";
import { cpuMeter } from "../lib/cpu.mjs";
import { createEndpoint, createProject, pendingBreakdown, waitDrained } from "../lib/ferry-setup.mjs";
import { queueBatchesSince } from "../lib/queue-log.mjs";
import { sendAtRate } from "../lib/sender.mjs";
import { fmtLoad, loadAvg } from "../lib/sysinfo.mjs";

/** @param {import("../run.mjs").Context} ctx */
export async function e2e({ runtime, ferry, receiver, cfg, log }) {
  const results = [];
  for (const rate of cfg.e2eRates) {
    const count = cfg.e2eSeconds ? rate * cfg.e2eSeconds : cfg.e2eCount;
    const p = await createProject(ferry, `bench-e2e-${rate}-${runtime}`);
    const path = `/e2e-${rate}-${runtime}`;
    receiver.route(path, { status: 200 });
    await createEndpoint(p, receiver.url(path));
    const run = `e2e-${runtime}-${rate}-${Date.now()}`;
    const loadBefore = loadAvg();
    const startedAt = new Date().toISOString();
    log(`e2e ${rate}/s × ${count}: load ${fmtLoad(loadBefore)}`);
    const cpu = cpuMeter(ferry.pgid);
    const batches = queueBatchesSince(ferry.outputPath);
    const sent = await sendAtRate({ apiUrl: ferry.apiUrl, apiKey: p.apiKey, rate, count, eventType: "bench.e2e", run });
    const outcome = await waitArrivals(receiver, path, () => deliveryStats(arrivals(receiver, path, run)).delivered >= sent.accepted.size, {
      quietMs: cfg.quietMs,
      timeoutMs: cfg.e2eWaitMs,
    });
    const rows = arrivals(receiver, path, run);
    const st = deliveryStats(rows, sent.answeredAt);
    const used = cpu();
    const consumer = batches();
    const seqs = new Set(rows.map((r) => r.seq));
    const result = {
      rate,
      count,
      startedAt,
      loadBefore,
      achievedRate: sent.achievedRate,
      sendSeconds: (sent.lastSendAt - sent.firstSendAt) / 1000,
      statuses: sent.statuses,
      failures: sent.failures,
      ingestP50: sent.ingestP50,
      ingestP99: sent.ingestP99,
      accepted: sent.accepted.size,
      delivered: st.delivered,
      missing: [...sent.accepted].filter((s) => !seqs.has(s)).length,
      duplicates: st.duplicates,
      latency: st.latency,
      // A backlog that grows shows as later events waiting longer than earlier ones.
      firstTenSeconds: latencyOfSends(rows, sent.firstSendAt, sent.firstSendAt + 10_000),
      lastTenSeconds: latencyOfSends(rows, sent.lastSendAt - 10_000, sent.lastSendAt + 1),
      fromAccepted: st.fromAccepted,
      cpu: used,
      consumer,
      cpuMsPerEvent: st.delivered ? used.totalMs / st.delivered : null,
      allDeliveredAfterFirstSendMs: st.delivered ? st.lastArrival - sent.firstSendAt : null,
      afterLastSendMs: st.delivered ? st.lastArrival - sent.lastSendAt : null,
      throughput: st.delivered ? st.delivered / ((st.lastArrival - sent.firstSendAt) / 1000) : 0,
      waitOutcome: outcome,
    };
    log(
      `  delivered ${st.delivered}/${sent.accepted.size} (dup ${st.duplicates}), p50 ${st.latency.p50} ms p99 ${st.latency.p99} ms max ${st.latency.max} ms, ` +
        `p99 of the first / last 10 s of sends ${result.firstTenSeconds.p99} / ${result.lastTenSeconds.p99} ms, ${result.throughput.toFixed(1)} ev/s, statuses ${JSON.stringify(sent.statuses)}, ingest p50 ${sent.ingestP50?.toFixed(0)} ms, ` +
        `CPU ${JSON.stringify(used.byName)} = ${result.cpuMsPerEvent?.toFixed(1)} ms/event`,
    );
    if (result.missing > 0) {
      result.pending = await pendingBreakdown(p);
      log(`  still pending: ${JSON.stringify(result.pending)}`);
    }
    results.push(result);
    await waitDrained(p, { timeoutMs: result.missing > 0 ? 5000 : cfg.drainTimeoutMs });
    receiver.reset();
  }
  return { runs: results };
}
