// Scenario 4: delivery drain against the no-op consumer ceiling, and batch ingest (100 per call, 4 callers) with exact counts,
// then batch ingest alone over `batchIngestCount` events (timed from the first call to the last answer).
// Per round: the no-op consumer gets N messages on its queue and POSTs each to the receiver, timed from the first send to
// the last arrival. Ferry drains N deliveries twice: a backlog with no ingest running (its endpoint disabled while the
// events come, then enabled: timed from the enable), and N events through POST /events/batch to one endpoint, timed from
// the first call, so the drain shares the machine with its own ingest.
import { setTimeout as sleep } from "node:timers/promises";
import { cpuMeter } from "../lib/cpu.mjs";
import { perDelivered, readCounts, resetCounts } from "../lib/counts.mjs";
import { createEndpoint, createProject, waitDrained } from "../lib/ferry-setup.mjs";
import { pricePerMillion } from "../lib/pricing.mjs";
import { NOOP_CONSUMER_DIR, startNoop } from "../lib/runtimes.mjs";
import { median } from "../lib/stats.mjs";
import { fmtLoad, loadAvg } from "../lib/sysinfo.mjs";

const PER_CALL = 100;
const CALLERS = 4;

/** @param {import("../run.mjs").Context} ctx */
export async function drain({ runtime, ferry, receiver, cfg, log }) {
  const noop = await startNoop(runtime, NOOP_CONSUMER_DIR);
  try {
    const p = await createProject(ferry, `bench-drain-${runtime}`);
    const n = cfg.drainCount;
    /** The no-op consumer drains `n` messages it puts on its own queue. @param {string} label */
    const drainNoop = async (label) => {
      const path = `/drain-noop-${runtime}-${label}`;
      receiver.route(path, { status: 200 });
      const loadBefore = loadAvg();
      log(`drain no-op consumer ${label}: ${n} messages, load ${fmtLoad(loadBefore)}`);
      const cpu = cpuMeter(noop.pgid);
      const t0 = Date.now();
      const filled = await fetch(`${noop.origin}/fill`, { method: "POST", body: JSON.stringify({ url: receiver.url(path), run: `noop-${label}`, count: n }) });
      if (filled.status !== 202) throw new Error(`no-op /fill answered ${filled.status}`);
      const last = await waitCount(receiver, path, n, cfg.drainTimeoutMs);
      const used = cpu();
      const rate = last.count / ((last.at - t0) / 1000);
      log(`  ${last.count}/${n} in ${((last.at - t0) / 1000).toFixed(1)} s = ${rate.toFixed(1)} events/s`);
      return { loadBefore, count: last.count, seconds: (last.at - t0) / 1000, rate, cpuMsPerEvent: used.totalMs / last.count };
    };
    /**
     * The "delivery drain, no ingest running": `n` deliveries wait as the paused deliveries of a disabled
     * endpoint, and are timed from the enable that queues them again (a job, 1,000 rows per step) to the last arrival.
     * @param {string} label
     */
    const drainBacklog = async (label) => {
      const path = `/backlog-ferry-${runtime}-${label}`;
      receiver.route(path, { status: 200 });
      const endpoint = await createEndpoint(p, receiver.url(path), { eventTypes: [`bench.backlog-${label}`] });
      await p.call("POST", `/endpoints/${endpoint.id}/disable`);
      const ingested = await batchIngest(ferry, p.apiKey, `bench.backlog-${label}`, n);
      if (ingested.accepted !== n) throw new Error(`backlog: ${ingested.accepted}/${n} events accepted (${JSON.stringify(ingested.statuses)})`);
      log(`drain Ferry backlog ${label}: ${n} paused deliveries, then enabled, load ${fmtLoad(loadAvg())}`);
      const cpu = cpuMeter(ferry.pgid);
      const t0 = Date.now();
      await p.call("POST", `/endpoints/${endpoint.id}/enable`);
      const last = await waitUnique(receiver, path, n, cfg.drainTimeoutMs);
      const used = cpu();
      const rate = last.count / ((last.at - t0) / 1000);
      log(`  ${last.count}/${n} in ${((last.at - t0) / 1000).toFixed(1)} s = ${rate.toFixed(1)} events/s, ${(used.totalMs / last.count).toFixed(3)} ms CPU per event`);
      await waitDrained(p, { timeoutMs: cfg.drainTimeoutMs });
      await p.call("DELETE", `/endpoints/${endpoint.id}`);
      return { count: last.count, seconds: (last.at - t0) / 1000, rate, cpuMsPerEvent: used.totalMs / last.count };
    };

    // Warm-up (not reported): both first drains paid for isolate start-up and first use, at 0.6–0.7× a later round's rate.
    await drainNoop("warm-up");
    await drainBacklog("warm-up");
    receiver.reset();

    const runs = [];
    for (let round = 1; round <= cfg.rounds; round++) {
      runs.push({ target: "noop", round, ...(await drainNoop(`round-${round}`)) });
      {
        const path = `/drain-ferry-${runtime}-${round}`;
        receiver.route(path, { status: 200 });
        const endpoint = await createEndpoint(p, receiver.url(path), { eventTypes: [`bench.drain${round}`] });
        const loadBefore = loadAvg();
        log(`drain Ferry round ${round}: ${n} events, ${PER_CALL} per call from ${CALLERS} callers, load ${fmtLoad(loadBefore)}`);
        await resetCounts(ferry);
        const cpu = cpuMeter(ferry.pgid);
        const t0 = Date.now();
        const ingested = await batchIngest(ferry, p.apiKey, `bench.drain${round}`, n);
        const last = await waitUnique(receiver, path, n, cfg.drainTimeoutMs);
        const used = cpu();
        const drained = await waitDrained(p, { timeoutMs: cfg.drainTimeoutMs });
        const counts = await readCounts(ferry);
        const per = perDelivered(counts, last.count);
        const cpuMsPerEvent = used.totalMs / last.count;
        const rate = last.count / ((last.at - t0) / 1000);
        const ingestRate = ingested.accepted / ((ingested.doneAt - t0) / 1000);
        log(`  ${last.count}/${n} in ${((last.at - t0) / 1000).toFixed(1)} s = ${rate.toFixed(1)} events/s; ingest ${ingestRate.toFixed(0)} events/s; ` +
            `per event: ${per.d1RoundTrips.toFixed(3)} D1 round trips, ${per.d1Statements.toFixed(3)} statements, ${per.doRequests.toFixed(3)} DO requests`);
        runs.push({ target: "ferry", round, loadBefore, count: last.count, seconds: (last.at - t0) / 1000, rate, ingestRate, ingestStatuses: ingested.statuses, drained: drained.drained, counts, per, cpuMsPerEvent, price: pricePerMillion(per, cpuMsPerEvent), endpointId: endpoint.id });
        // Keep the next round's events away from this round's endpoint.
        await p.call("DELETE", `/endpoints/${endpoint.id}`);
      }
      Object.assign(runs.find((r) => r.target === "ferry" && r.round === round), { backlog: await drainBacklog(`round-${round}`) });
      {
        // The drain's 2,000 events are ingested in about 0.3 s, a warm-up more than a rate: batch ingest is also timed over many more.
        const path = `/batch-ferry-${runtime}-${round}`;
        const sustainedCount = cfg.batchIngestCount;
        receiver.route(path, { status: 200 });
        const endpoint = await createEndpoint(p, receiver.url(path), { eventTypes: [`bench.batch${round}`] });
        log(`batch ingest Ferry round ${round}: ${sustainedCount} events, ${PER_CALL} per call from ${CALLERS} callers, load ${fmtLoad(loadAvg())}`);
        const cpu = cpuMeter(ferry.pgid);
        const t0 = Date.now();
        const ingested = await batchIngest(ferry, p.apiKey, `bench.batch${round}`, sustainedCount);
        const used = cpu();
        const rate = ingested.accepted / ((ingested.doneAt - t0) / 1000);
        const drained = await waitDrained(p, { timeoutMs: cfg.drainTimeoutMs });
        log(`  ${ingested.accepted}/${sustainedCount} accepted in ${((ingested.doneAt - t0) / 1000).toFixed(1)} s = ${rate.toFixed(0)} events/s, ${(used.totalMs / ingested.accepted).toFixed(3)} ms CPU per event while ingesting; ${drained.drained ? "drained" : "NOT drained"} ${(drained.waitedMs / 1000).toFixed(1)} s later`);
        const ferryRun = runs.find((r) => r.target === "ferry" && r.round === round);
        Object.assign(ferryRun, { sustained: { count: sustainedCount, accepted: ingested.accepted, statuses: ingested.statuses, rate, cpuMsPerEvent: used.totalMs / ingested.accepted, drained: drained.drained } });
        await p.call("DELETE", `/endpoints/${endpoint.id}`);
      }
      receiver.reset();
    }
    const pick = (t, k) => runs.filter((r) => r.target === t).map((r) => r[k]);
    const noopRate = median(pick("noop", "rate"));
    const noopRateOf = (round) => runs.find((x) => x.target === "noop" && x.round === round).rate;
    const ferryRuns = runs.filter((r) => r.target === "ferry");
    // The ratio is the backlog's: the drain has no ingest running. The drain behind its own batch ingest stays beside it.
    const ferryRate = median(ferryRuns.map((r) => r.backlog.rate));
    const withIngestRate = median(pick("ferry", "rate"));
    return {
      runs,
      summary: {
        noopRate,
        ferryRate,
        ratio: ferryRate / noopRate,
        pairwise: ferryRuns.map((f) => f.backlog.rate / noopRateOf(f.round)),
        withIngest: { rate: withIngestRate, ratio: withIngestRate / noopRate },
        ingestRate: median(pick("ferry", "ingestRate")),
        sustainedIngestRate: median(runs.filter((r) => r.sustained).map((r) => r.sustained.rate)),
      },
    };
  } finally {
    await noop.stop();
  }
}

/** N events through POST /events/batch, PER_CALL per call, from CALLERS concurrent callers. */
async function batchIngest(ferry, apiKey, eventType, n) {
  const calls = [];
  for (let first = 0; first < n; first += PER_CALL) calls.push(Array.from({ length: Math.min(PER_CALL, n - first) }, (_, i) => ({ eventType, payload: { seq: first + i } })));
  /** @type {Record<string, number>} */
  const statuses = {};
  let accepted = 0;
  const worker = async () => {
    for (let events = calls.shift(); events; events = calls.shift()) {
      const res = await fetch(`${ferry.apiUrl}/api/v1/events/batch`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` }, body: JSON.stringify({ events }) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 202) accepted += events.length;
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, worker));
  return { accepted, statuses, doneAt: Date.now() };
}

/** Wait for `n` requests at `path` (or quiet/timeout); returns how many and when the last came. */
async function waitCount(receiver, path, n, timeoutMs) {
  return waitFor(() => receiver.requests(path), n, timeoutMs, (rows) => rows.length);
}

async function waitUnique(receiver, path, n, timeoutMs) {
  return waitFor(() => receiver.requests(path), n, timeoutMs, (rows) => new Set(rows.map((r) => r.headers["webhook-id"])).size);
}

async function waitFor(rowsOf, n, timeoutMs, countOf) {
  const t0 = Date.now();
  for (;;) {
    const rows = rowsOf();
    const count = countOf(rows);
    const at = rows.reduce((m, r) => Math.max(m, r.receivedAt), 0);
    if (count >= n || Date.now() - t0 > timeoutMs) return { count, at };
    await sleep(100);
  }
}
