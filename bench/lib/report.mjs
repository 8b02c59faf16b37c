// Renders the results object as the markdown report, with the peer's figures (peer-bench-hookflare.md) alongside.
import { PRICES } from "./pricing.mjs";
import { fmtLoad } from "./sysinfo.mjs";

/** hookflare on this machine (2026-11-28), from /work/shared/reference/peer-bench-hookflare.md. */
export const PEER = {
  ingestRatio: { dev: 0.31, noinsp: 0.72 },
  e2e: {
    dev: { 100: { throughput: 35, p50: 19_700, p90: 32_100, p99: 35_300, max: 36_600 }, 300: { throughput: 31, p50: 33_600, p90: 52_200, p99: 56_600, max: 58_000 } },
    noinsp: { 100: { throughput: 66, p50: 8_000, p99: 10_200 }, 300: { throughput: 63, p50: 14_500, p99: 24_800 } },
  },
  isolation: { control: { p50: 698, p90: 932, p99: 962, max: 1_080 }, slow: { p50: 2_377, p90: 16_911, p99: 20_091, max: 20_434 } },
};

const s = (ms) => (ms === null || ms === undefined ? "–" : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const n = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
const lat = (l) => (l ? `${s(l.p50)} / ${s(l.p90)} / ${s(l.p99)} / ${s(l.max)}` : "–");
const hhmmss = (iso) => iso.slice(11, 19);
const batchText = (b) => (b && b.batches ? `${b.batches}, ${b.medianSize}, ${s(b.durationMs.p50)} / ${s(b.durationMs.max)}` : "–");
const statuses = (o) => Object.entries(o).map(([k, v]) => `${k}×${v}`).join(", ");

/** @param {any} r the results object from run.mjs */
export function renderReport(r) {
  const m = r.machine;
  const out = [];
  out.push(`# Ferry benchmark, ${r.startedAt.slice(0, 16).replace("T", " ")} UTC (${r.mode} mode)`);
  out.push("");
  out.push(
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, Node ${m.node}, wrangler ${m.wrangler}, miniflare ${m.miniflare}, workerd ${m.workerd}, autocannon ${m.autocannon}; commit \`${m.commit}\`. ` +
      `Load average (1/5/15) at start ${fmtLoad(r.loadAtStart)}; the machine is shared, so compare the ratios measured back to back, not absolute figures. ` +
      `Total ${Math.round(r.totalSeconds / 60)} min. Worker vars: ${Object.entries(r.vars).map(([k, v]) => `${k}=${k === "ADMIN_TOKEN" ? "…" : v}`).join(", ")}.`,
  );
  out.push("");
  out.push(`Ferry source: ${r.source} (a frozen copy, so edits in the checkout cannot restart the worker mid-run). Local D1/DO state: ${r.stateDir}.`);
  out.push("");
  out.push(
    "Runtimes: " +
      Object.entries(r.runtimes)
        .map(([k, v]) => `**${k}** = ${v.label}${v.error ? ` (did not start: ${v.error})` : ""}${v.wranglerLogBytes !== undefined ? ` (Ferry's wrangler debug log grew to ${(v.wranglerLogBytes / 2 ** 20).toFixed(1)} MiB)` : ""}`)
        .join("; ") +
      ".",
  );
  out.push("");

  const rts = Object.entries(r.runtimes);
  if (rts.some(([, v]) => v.scenarios.ingest)) {
    out.push(`## 1. Ingest: autocannon c=${r.cfg.connections}, ${r.cfg.ingestSeconds} s per run, ${r.cfg.rounds} rounds alternating with the no-op worker`);
    out.push("");
    out.push("| runtime | run | start (UTC) | load before | rps | p50 ms | p99 ms | statuses | errors | backlog at end | drain |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const [rt, v] of rts) {
      const ing = v.scenarios.ingest;
      if (!ing) continue;
      if (ing.error) {
        out.push(`| ${rt} | failed: ${ing.error.split("\n")[0]} |||||||||| `);
        continue;
      }
      for (const run of ing.runs) {
        const d = run.delivery;
        out.push(
          `| ${rt} | ${run.target}-${run.round} | ${hhmmss(run.startedAt)} | ${fmtLoad(run.loadBefore)} | ${n(run.rps)} | ${run.p50} | ${run.p99} | ${statuses(run.statusCodes)} | ${run.errors + run.timeouts} | ` +
            `${d ? d.backlogAtEnd : ""} | ${d ? `${n(d.drainMs / 1000)} s${d.drained ? "" : " (not drained)"}` : ""} |`,
        );
      }
    }
    out.push("");
    out.push("| runtime | median no-op rps | median Ferry rps | **Ferry / no-op** | pairwise ratios | Ferry p50 / p99 ms | Ferry non-2xx | drain rate (events/s) | CPU ms per request: no-op / Ferry ingest / Ferry ingest+delivery | Ferry ingest alone (deliveries written paused, none sent): rps, / no-op, CPU ms per request | peer hookflare ratio |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const [rt, v] of rts) {
      const ing = v.scenarios.ingest;
      if (!ing || ing.error) continue;
      const sm = ing.summary;
      out.push(
        `| ${rt} | ${n(sm.noop.rps)} | ${n(sm.ferry.rps)} | **${n(sm.ratio, 2)}** | ${sm.pairwise.map((x) => n(x, 2)).join(", ")} | ${sm.ferry.p50} / ${sm.ferry.p99} | ${sm.ferry.non2xx} (+${sm.ferry.errors} errors) | ${n(sm.drainRate)} | ${n(sm.cpuMsPerRequest?.noop, 2)} / ${n(sm.cpuMsPerRequest?.ferryIngestOnly, 2)} / ${n(sm.cpuMsPerRequest?.ferryWithDelivery, 2)} (no-op / Ferry ingest = ${n(sm.cpuMsPerRequest?.noop / sm.cpuMsPerRequest?.ferryIngestOnly, 2)}); split ≈ ${n(sm.cpuSplit?.ingestMsPerEvent)} ingest + ${n(sm.cpuSplit?.deliveryMsPerEvent)} delivery | ${sm.ingestAlone ? `${n(sm.ingestAlone.rps)}, **${n(sm.ingestAlone.ratio, 2)}**, **${n(sm.ingestAlone.cpuMsPerRequest, 2)}**` : "–"} | ${PEER.ingestRatio[rt] ?? "–"} |`,
      );
    }
    out.push("");
    out.push("Backlog = deliveries still pending when autocannon stopped; drain rate = that backlog / time to drain it with no ingest load. CPU = user+system time of the worker's process group (wrangler's node + workerd) from /proc; \"ingest+delivery\" spans the run and its drain, per accepted event; the split prices a delivery from the drain (no ingest then) and charges the rest of the run to ingest. \"Ingest alone\" is a second project whose one endpoint is disabled: each event and its delivery are written as with the active endpoint, and no delivery shares the thread during the run.");
    out.push("");
  }

  if (rts.some(([, v]) => v.scenarios.drain)) {
    out.push(`## 4. Delivery drain against the no-op consumer ceiling, and batch ingest (N=${r.cfg.drainCount}, POST /events/batch with 100 events per call from 4 callers, one endpoint; then ${r.cfg.batchIngestCount} events the same way, timed to the last answer)`);
    out.push("");
    out.push(`| runtime | run | load before | delivered | seconds (first send → last arrival) | events/s | batch ingest events/s | CPU ms / event | backlog drain, no ingest running: events/s, CPU ms / event | batch ingest of ${r.cfg.batchIngestCount}: events/s, CPU ms / event while ingesting |`);
    out.push("|---|---|---|---|---|---|---|---|---|---|");
    for (const [rt, v] of rts) {
      const d = v.scenarios.drain;
      if (!d || d.error) {
        if (d?.error) out.push(`| ${rt} | failed: ${d.error.split("\n")[0]} ||||||||`);
        continue;
      }
      for (const x of d.runs) out.push(`| ${rt} | ${x.target}-${x.round} | ${fmtLoad(x.loadBefore)} | ${x.count} | ${n(x.seconds)} | ${n(x.rate)} | ${x.ingestRate ? n(x.ingestRate, 0) : ""} | ${n(x.cpuMsPerEvent, 2)} | ${x.backlog ? `${n(x.backlog.rate)}, ${n(x.backlog.cpuMsPerEvent, 3)}` : ""} | ${x.sustained ? `${n(x.sustained.rate, 0)}, ${n(x.sustained.cpuMsPerEvent, 3)}${x.sustained.accepted < x.sustained.count ? ` (${x.sustained.accepted} accepted: ${JSON.stringify(x.sustained.statuses)})` : ""}` : ""} |`);
    }
    out.push("");
    out.push(`| runtime | median no-op consumer events/s | median Ferry backlog drain events/s (no ingest running) | **Ferry / no-op consumer** | pairwise | Ferry drain behind its batch ingest: events/s, / no-op | median batch ingest events/s (N=${r.cfg.drainCount}) | **median batch ingest events/s (N=${r.cfg.batchIngestCount})** |`);
    out.push("|---|---|---|---|---|---|---|---|");
    for (const [rt, v] of rts) {
      const d = v.scenarios.drain;
      if (!d || d.error) continue;
      const sm = d.summary;
      out.push(`| ${rt} | ${n(sm.noopRate)} | ${n(sm.ferryRate)} | **${n(sm.ratio, 2)}** | ${sm.pairwise.map((x) => n(x, 2)).join(", ")} | ${n(sm.withIngest.rate)}, ${n(sm.withIngest.ratio, 2)} | ${n(sm.ingestRate, 0)} | **${n(sm.sustainedIngestRate, 0)}** |`);
    }
    out.push("");
  }

  const counted = rts.flatMap(([rt, v]) => [
    ...(v.scenarios.ingest?.runs ?? []).filter((x) => x.delivery?.per).map((x) => ({ rt, label: `single-event ingest (c=${r.cfg.connections}), ferry-${x.round}`, per: x.delivery.per, cpu: x.delivery.cpuMsPerEvent, price: x.delivery.price })),
    ...(v.scenarios.drain?.runs ?? []).filter((x) => x.per).map((x) => ({ rt, label: `batch ingest (100 per call), ferry-${x.round}`, per: x.per, cpu: x.cpuMsPerEvent, price: x.price })),
  ]);
  if (counted.length) {
    out.push("## Exact operations per delivered event (counted by the bench build's wrapped bindings, ingest and delivery together)");
    out.push("");
    out.push("| runtime | run | delivered | D1 round trips | D1 statements (read / write) | D1 rows written | D1 rows read | DO requests | queue operations (send calls) | outbound fetches | Worker requests | CPU ms (local, upper bound) | $ per 1M deliveries |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const c of counted) {
      const p = c.per;
      out.push(
        `| ${c.rt} | ${c.label} | ${p.delivered} | ${n(p.d1RoundTrips, 3)} | ${n(p.d1Statements, 3)} (${n(p.d1ReadStatements, 3)} / ${n(p.d1WriteStatements, 3)}) | ${n(p.rowsWritten, 2)} | ${n(p.rowsRead, 2)} | ${n(p.doRequests, 3)} | ${n(p.queueOperations, 2)} (${n(p.queueSendCalls, 3)}) | ${n(p.outboundFetches, 3)} | ${n(p.workerRequests, 3)} | ${n(c.cpu, 2)} | $${n(c.price?.total, 2)} |`,
      );
    }
    out.push("");
    const last = counted.at(-1)?.price;
    if (last) {
      out.push(`Price of 1M deliveries for the last row, by line: ${Object.entries(last).filter(([k]) => k !== "total").map(([k, v]) => `${k} $${n(v, 3)}`).join(", ")}.`);
    }
    out.push(`Prices (USD per million, Workers Paid, beyond the allowances; ${PRICES.date}): ${Object.entries(PRICES.usdPerMillion).map(([k, v]) => `${k} ${v}`).join(", ")}. ${PRICES.leftOut} CPU ms is the local process group's CPU per event (workerd running D1, the queue and the DO too, plus wrangler's proxy), so it overstates what Workers would bill.`);
    out.push("");
  }

  if (rts.some(([, v]) => v.scenarios.e2e)) {
    out.push(`## 2. End to end: ${r.cfg.e2eSeconds ? `${r.cfg.e2eSeconds} s` : `N=${r.cfg.e2eCount}`} at a fixed rate to 1 healthy endpoint (latency = receiver arrival − sender's send time)`);
    out.push("");
    out.push("| runtime | rate | start (UTC) | load before | sent at | ingest answers | ingest p50 / p99 | delivered / accepted | dup | latency p50 / p90 / p99 / max | p99 of the first / last 10 s of sends | from the 202: p50 / p99 | throughput | all delivered after first send (after last send) | CPU ms / event | consumer batches: n, median size, duration p50 / max | peer hookflare |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const [rt, v] of rts) {
      const e = v.scenarios.e2e;
      if (!e) continue;
      if (e.error) {
        out.push(`| ${rt} | failed: ${e.error.split("\n")[0]} ||||||||||||`);
        continue;
      }
      for (const x of e.runs) {
        const peer = PEER.e2e[rt]?.[x.rate];
        const peerText = peer ? `${peer.throughput}/s, p50 ${s(peer.p50)}, p99 ${s(peer.p99)}` : "–";
        out.push(
          `| ${rt} | ${x.rate}/s | ${hhmmss(x.startedAt)} | ${fmtLoad(x.loadBefore)} | ${n(x.achievedRate)}/s | ${statuses(x.statuses)} | ${s(x.ingestP50)} / ${s(x.ingestP99)} | ${x.delivered} / ${x.accepted}${x.missing ? ` (${x.missing} missing)` : ""} | ${x.duplicates} | ` +
            `${lat(x.latency)} | ${x.firstTenSeconds ? `${s(x.firstTenSeconds.p99)} / ${s(x.lastTenSeconds.p99)}` : "–"} | ${x.fromAccepted ? `${s(x.fromAccepted.p50)} / ${s(x.fromAccepted.p99)}` : "–"} | ${n(x.throughput)} ev/s | ${s(x.allDeliveredAfterFirstSendMs)} (${s(x.afterLastSendMs)}) | ${n(x.cpuMsPerEvent)} | ${batchText(x.consumer)} | ${peerText} |`,
        );
      }
    }
    out.push("");
    const failures = [...new Set(rts.flatMap(([, v]) => (v.scenarios.e2e?.runs ?? []).flatMap((x) => (x.failures ?? []).map((f) => `${f.status} ${JSON.stringify(f.body)}`))))];
    if (failures.length) {
      out.push(`Distinct non-2xx ingest answers seen: ${failures.slice(0, 6).map((f) => `\`${f}\``).join("; ")}.`);
      out.push(
        "The 503 text comes from wrangler's ProxyWorker, not Ferry: it answers so for any failed proxied non-GET request whose path is not `/` " +
          "(it compares URLs including the path), so it does not mean the worker restarted; it shows up here when ingest is saturated and requests wait 10 s or more.",
        "",
      );
    }
    out.push("Throughput = delivered / (last arrival − first send). \"From the 202\" = arrival − when the sender got the ingest answer, which leaves out time queued at ingest.");
    out.push("");
  }

  if (rts.some(([, v]) => v.scenarios.isolation)) {
    out.push(`## 3. Isolation: ${r.cfg.isoRate} events/s for ${r.cfg.isoSeconds} s to a project with two endpoints; the healthy endpoint's latency`);
    out.push("");
    out.push("| runtime | variant | start (UTC) | load before | ingest answers | healthy delivered / accepted | healthy p50 / p90 / p99 / max | healthy from the 202: p50 / p99 | neighbour requests | consumer batches: n, median size, duration p50 / max | peer hookflare (healthy) |");
    out.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const [rt, v] of rts) {
      const iso = v.scenarios.isolation;
      if (!iso) continue;
      if (iso.error) {
        out.push(`| ${rt} | failed: ${iso.error.split("\n")[0]} |||||||`);
        continue;
      }
      for (const x of iso.runs) {
        const peer = rt === "dev" ? (x.variant === "control" ? PEER.isolation.control : PEER.isolation.slow) : null;
        out.push(
          `| ${rt} | ${x.label} | ${hhmmss(x.startedAt)} | ${fmtLoad(x.loadBefore)} | ${statuses(x.statuses)} | ${x.healthy.delivered} / ${x.accepted}${x.healthy.duplicates ? ` (+${x.healthy.duplicates} dup)` : ""} | ` +
            `${lat(x.healthy.latency)} | ${x.healthy.fromAccepted ? `${s(x.healthy.fromAccepted.p50)} / ${s(x.healthy.fromAccepted.p99)}` : "–"} | ${x.neighbour.hits} | ${batchText(x.consumer)} | ${peer ? lat(peer) : "–"} |`,
        );
      }
    }
    out.push("");
    out.push("Consumer batches come from wrangler's `QUEUE <queue> acked/size (duration)` lines printed during the variant; the duration is until workerd reports the invocation done, which includes work left to `waitUntil`.");
    out.push("");
    out.push("Peer isolation figures are hookflare under `wrangler dev`: control = ctrl-b (both healthy); slow = healthy3 next to a destination answering 500 after 2 s (its circuit opens after 10 failures).");
    out.push("");
  }
  return out.join("\n");
}
