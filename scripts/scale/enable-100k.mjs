// `npm run scale`: bulk operations at scale, through the API only, on the local stack.
//
// One project: endpoint A of no application, and an application with endpoints B and C, all disabled before
// N events are batch-ingested to each side (N to the application, N to none), so A, B and C hold N paused
// deliveries each. Then, one after the other (deletes first, while the queue is empty):
//   delete-endpoint     delete B: its N paused deliveries end as failed (its job finishes)
//   delete-application  delete the application: C and its N paused deliveries (its job finishes)
//   enable              enable A: every one of its N deliveries reaches the local receiver
//   resend              bulk resend of A's succeeded deliveries: N more requests at the receiver
//   delete-project      delete the project: its job empties every table of it (2N events, N deliveries and
//                       2N attempts by then) and removes the project row last
// For each: how long the request took to answer, how long until the work was done (and the rate), and the
// latency of GET /deliveries sampled every 250 ms while it ran (a bystander project's, once the project is
// being deleted), the runtime's peak open descriptors, CLOSE-WAIT sockets and RSS, and how many log lines
// reported running out of timers or descriptors or a failed enqueue. Prints a table. Only the side a phase
// needs is ingested: `SCALE_PHASES=enable SCALE_N=1000000` ingests N events to A alone.
//
// Options (environment): SCALE_N (100000); SCALE_PHASES (all four, comma-separated, in that order);
// SCALE_PHASE_TIMEOUT_S (1200) per phase, after which the phase reports how far it got; FERRY_KEEP_STATE=1.
import http from "node:http";
import { runtimeProcesses } from "../lib/proc-stats.mjs";
import { exitWithParent } from "../lib/procs.mjs";
import { startStack } from "../lib/stack.mjs";

const N = Number(process.env.SCALE_N ?? 100_000);
const PHASE_TIMEOUT_MS = Number(process.env.SCALE_PHASE_TIMEOUT_S ?? 1200) * 1000;
const BATCH = 100;
const INGEST_CONCURRENCY = 4;
const SAMPLE_EVERY_MS = 250;
const PHASES = (process.env.SCALE_PHASES ?? "delete-endpoint,delete-application,enable,resend,delete-project").split(",");
const NEEDS_APPLICATION_SIDE = PHASES.some((name) => ["delete-endpoint", "delete-application", "delete-project"].includes(name));
/** Log lines that mean the local runtime ran out of something; the 1 M enable once ended in all three. */
const RUNTIME_TROUBLE = /max active timeouts|Too many open files|enqueue failed/g;

exitWithParent();
const log = (...args) => console.log(`[scale ${new Date().toISOString().slice(11, 19)}]`, ...args);

let received = 0;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    received++;
    res.writeHead(200).end("ok");
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (receiver.address()).port}`;

// The cron (sweeper, stalled-job restarts) on a timer, as under `npm run dev`.
const stack = await startStack({ sweepEveryMs: 10_000 });
const rows = [];
try {
  const { body: project } = await stack.api("POST", "/projects", { name: "scale" }, stack.adminToken);
  const call = stack.client(project.apiKey);
  const { body: bystander } = await stack.api("POST", "/projects", { name: "scale-bystander" }, stack.adminToken);
  const bystanderCall = stack.client(bystander.apiKey);
  const admin = stack.client(stack.adminToken, { "ferry-project": project.id });
  const app = await must(call("POST", "/applications", { name: "scale", uid: "scale" }), 201);
  const a = await must(call("POST", "/endpoints", { url: `${receiverUrl}/a` }), 201);
  const [b, c] = await Promise.all(["b", "c"].map((name) => must(call("POST", "/endpoints", { url: `${receiverUrl}/${name}`, applicationId: app.id }), 201)));
  for (const endpoint of [a, b, c]) await must(call("POST", `/endpoints/${endpoint.id}/disable`), 200);

  const sides = NEEDS_APPLICATION_SIDE ? 2 : 1;
  log(`ingesting ${N} events to none (A)${NEEDS_APPLICATION_SIDE ? ` and ${N} to the application (B, C)` : ""}, all endpoints disabled, in batches of ${BATCH}`);
  const t0 = Date.now();
  if (NEEDS_APPLICATION_SIDE) await ingest(call, N, "scale");
  await ingest(call, N, undefined);
  log(`ingested ${sides * N} events in ${seconds(Date.now() - t0)} s (${Math.round((sides * N) / ((Date.now() - t0) / 1000))} events/s)`);

  const phases = {
    "delete-endpoint": () => phase("delete endpoint", call, () => call("DELETE", `/endpoints/${b.id}`), jobFinished(call), jobProcessed(call)),
    "delete-application": () => phase("delete application", call, () => call("DELETE", `/applications/${app.id}`), jobFinished(call), jobProcessed(call)),
    enable: () => phase("enable endpoint", call, () => call("POST", `/endpoints/${a.id}/enable`), () => received >= N, () => received),
    resend: () => {
      const before = received;
      return phase("bulk resend", call, () => call("POST", "/deliveries/resend", { endpointId: a.id, status: "succeeded" }), () => received - before >= N, () => received - before);
    },
    // The project's keys stop at once: the admin follows the job until it has removed the project row (and itself).
    "delete-project": () =>
      phase("delete project", bystanderCall, () => call("DELETE", "/project", { confirm: project.id }), async () => (await admin("GET", `/jobs/${currentJob}`)).status === 404, jobProcessed(admin)),
  };
  for (const name of PHASES) rows.push(await phases[name]());
} catch (error) {
  console.error(stack.logs().slice(-4000));
  throw error;
} finally {
  printTable(rows);
  await stack.stop();
  receiver.close();
}

async function must(promise, status) {
  const res = await promise;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  return res.body;
}

async function ingest(call, count, application) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const from = next;
      next += BATCH;
      const events = Array.from({ length: Math.min(BATCH, count - from) }, (_, j) => ({ eventType: "order.paid", application, payload: { order: from + j } }));
      await must(call("POST", "/events/batch", { events }), 202);
    }
  };
  await Promise.all(Array.from({ length: INGEST_CONCURRENCY }, lane));
}

/** The last answer's job, polled at most once a second. */
var currentJob = null;
var lastPoll = { at: 0, job: null };
async function pollJob(call) {
  if (Date.now() - lastPoll.at >= 1000) lastPoll = { at: Date.now(), job: (await call("GET", `/jobs/${currentJob}`)).body };
  return lastPoll.job;
}
function jobFinished(call) {
  return async () => (await pollJob(call))?.status === "succeeded";
}
/** Rows the job has processed, as last seen (a finished project delete takes its job with it). */
function jobProcessed(call) {
  let seen = 0;
  return async () => (seen = (await pollJob(call))?.processed ?? seen);
}

/** Runs one bulk operation: its answer time, how long until `done`, and GET /deliveries latency meanwhile. */
async function phase(name, call, start, done, progress) {
  log(`${name}: starting`);
  const t0 = performance.now();
  const answer = await start();
  const answerMs = performance.now() - t0;
  if (answer.status >= 300) throw new Error(`${name}: ${answer.status} ${answer.text.slice(0, 300)}`);
  currentJob = answer.body.jobId;
  lastPoll = { at: 0, job: null };
  const samples = [];
  const peak = { fds: 0, closeWait: 0, rssMb: 0 };
  const troubleBefore = stack.logs().match(RUNTIME_TROUBLE)?.length ?? 0;
  let finished = false;
  let lastLog = Date.now();
  while (!(finished = await done()) && performance.now() - t0 < PHASE_TIMEOUT_MS) {
    const s0 = performance.now();
    const list = await call("GET", "/deliveries?limit=50");
    if (list.status !== 200) throw new Error(`GET /deliveries: ${list.status}`);
    samples.push(performance.now() - s0);
    const processes = runtimeProcesses(stack.runDir);
    peak.fds = Math.max(peak.fds, ...processes.map((p) => p.fds));
    peak.closeWait = Math.max(peak.closeWait, ...processes.map((p) => p.closeWait));
    peak.rssMb = Math.max(peak.rssMb, ...processes.map((p) => Math.round(p.rssKb / 1024)));
    if (Date.now() - lastLog > 15_000) {
      log(`${name}: ${await progress()} of ${N} after ${seconds(performance.now() - t0)} s`);
      lastLog = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
  }
  const totalMs = performance.now() - t0;
  const count = await progress();
  const trouble = (stack.logs().match(RUNTIME_TROUBLE)?.length ?? 0) - troubleBefore;
  const row = { name, answerMs, status: answer.status, finished, count, totalMs, rate: count / (totalMs / 1000), p50: pct(samples, 0.5), p95: pct(samples, 0.95), samples: samples.length, ...peak, trouble };
  log(`${name}: ${finished ? "done" : "TIMED OUT"}: ${count} in ${seconds(totalMs)} s`);
  return row;
}

function seconds(ms) {
  return (ms / 1000).toFixed(1);
}

function pct(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function printTable(results) {
  if (results.length === 0) return;
  console.log(`\nN = ${N} deliveries per operation\n`);
  const header = ["operation", "answer", "status", "done", "rows", "total s", "rows/s", "GET /deliveries p50", "p95", "samples", "peak fds", "peak CLOSE-WAIT", "peak RSS", "trouble lines"];
  const lines = results.map((r) => [r.name, `${Math.round(r.answerMs)} ms`, String(r.status), r.finished ? "yes" : "no (timeout)", String(r.count), seconds(r.totalMs), String(Math.round(r.rate)), `${r.p50.toFixed(1)} ms`, `${r.p95.toFixed(1)} ms`, String(r.samples), String(r.fds), String(r.closeWait), `${r.rssMb} MB`, String(r.trouble)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  for (const line of [header, widths.map((w) => "-".repeat(w)), ...lines]) console.log(line.map((cell, i) => cell.padEnd(widths[i])).join("  "));
}
