// `npm run soak`: the real local stack under mixed traffic for a long time, reporting every 30 s what was
// accepted, delivered, lost and duplicated, the latency, and the descriptors and memory of every runtime process.
//
//   npm run soak                          30 minutes at the default rates
//   npm run soak -- --minutes 10 --rate 8 --batch 10 --reads 3
//
// Traffic: single events (--rate per second) and a batch of --batch events every 2 s to a project with three
// healthy endpoints and a flaky one (20 % answer 500); every fifth event also goes to a second project whose
// only endpoint is dead, gets disabled, and is re-enabled every 3 minutes while its receiver is healthy for a
// moment; a resend every 10 s; dashboard-style list reads (--reads per second).
// "Lost" counts events accepted more than 2 minutes ago that some healthy endpoint has not received; at the
// end the traffic stops, the dead endpoint is revived one last time and everything must arrive.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack } from "./lib/stack.mjs";
import { runtimeProcesses } from "./lib/proc-stats.mjs";
import { startReceiver } from "../test/e2e/support/receiver.mjs";
import { exitWithParent } from "./lib/procs.mjs";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: process.env.SOAK_MINUTES ?? "30" },
    rate: { type: "string", default: "5" },
    batch: { type: "string", default: "5" },
    reads: { type: "string", default: "3" },
    "report-every": { type: "string", default: "30" },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const BATCH = Number(args.batch);
const READS = Number(args.reads);
const REPORT_EVERY_MS = Number(args["report-every"]) * 1000;
const LOST_AFTER_MS = 120_000;
const HEALTHY = ["/ok/1", "/ok/2", "/ok/3"];

exitWithParent();
const receiver = await startReceiver();
let deadAnswers = 500;
receiver.route("/flaky", () => ({ status: Math.random() < 0.2 ? 500 : 200 }));
receiver.route("/dead", () => ({ status: deadAnswers, body: deadAnswers === 200 ? "back" : "down" }));
for (const p of HEALTHY) receiver.route(p, { status: 200 });

console.log(`[soak] starting the stack; ${MINUTES} min, ${RATE} events/s + ${BATCH} every 2 s, ${READS} reads/s`);
const stack = await startStack({ vars: { RETRY_SCHEDULE: "1,2,5,10,20" }, sweepEveryMs: 5000 });
const cleanup = async () => {
  await stack.stop();
  await receiver.close();
};
process.on("SIGINT", async () => {
  await cleanup();
  process.exit(130);
});

/** event id → when it was sent */
const accepted = new Map();
const deadEvents = new Set();
/** "path event-id" → extra 2xx arrivals a resend asked for */
const resent = new Map();
const counters = { requests: 0, rejected: 0, ingestErrors: 0, resends: 0, reads: 0, enables: 0 };
const rows = [];
let seq = 0;
const started = Date.now();
const until = started + MINUTES * 60_000;

const admin = stack.adminToken;
const main = await project("soak-main", {});
const deadProject = await project("soak-dead", { disableAfter: 3, disableAfterSeconds: 0, circuitOpenAfter: 100 });
for (const p of [...HEALTHY, "/flaky"]) await call(main.api, "POST", "/endpoints", { url: receiver.url(p) }, 201);
const { body: deadEndpoint } = await call(deadProject.api, "POST", "/endpoints", { url: receiver.url("/dead") }, 201);

async function project(name, settings) {
  const { body } = await call(createApiless(admin), "POST", "/projects", { name }, 201);
  const api = stack.client(body.apiKey);
  if (Object.keys(settings).length) await call(api, "PATCH", "/project", settings, 200);
  return { id: body.id, api };
}
function createApiless(token) {
  return (method, p, body) => stack.api(method, p, body, token);
}
async function call(api, method, p, body, expect) {
  counters.requests++;
  const res = await api(method, p, body);
  if (res.status >= 500 && counters.rejected < 5) console.error(`[soak] ${method} ${p} answered ${res.status}: ${res.text.slice(0, 200)}`);
  if (expect && res.status !== expect) throw new Error(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
  return res;
}

async function sendSingle() {
  const n = seq++;
  const toDead = n % 5 === 0;
  const payload = { seq: n, sentAt: Date.now() };
  try {
    const res = await call(main.api, "POST", "/events", { eventType: "soak.single", payload });
    if (res.status !== 202) return void counters.rejected++;
    accepted.set(res.body.id, payload.sentAt);
    if (toDead) {
      const dead = await call(deadProject.api, "POST", "/events", { eventType: "soak.single", payload });
      if (dead.status === 202) deadEvents.add(dead.body.id);
      else counters.rejected++;
    }
  } catch {
    counters.ingestErrors++;
  }
}

async function sendBatch() {
  const sentAt = Date.now();
  const events = Array.from({ length: BATCH }, () => ({ eventType: "soak.batch", payload: { seq: seq++, sentAt } }));
  try {
    const res = await call(main.api, "POST", "/events/batch", { events });
    if (res.status !== 202) return void counters.rejected++;
    for (const e of res.body.events) accepted.set(e.id, sentAt);
  } catch {
    counters.ingestErrors++;
  }
}

async function resendOne() {
  const { body } = await call(main.api, "GET", "/deliveries?status=succeeded&limit=20");
  const pick = body?.data?.find((d) => HEALTHY.some((p) => d.endpointUrl?.endsWith(p)));
  if (!pick) return;
  const res = await call(main.api, "POST", `/deliveries/${pick.id}/resend`);
  if (res.status !== 202) return;
  counters.resends++;
  const p = new URL(pick.endpointUrl).pathname;
  const key = `${p} ${pick.eventId}`;
  resent.set(key, (resent.get(key) ?? 0) + 1);
}

async function readLists() {
  const reads = ["/deliveries?limit=50", "/events?limit=50", "/stats", `/deliveries?endpointId=${deadEndpoint.id}&limit=50`, "/endpoints"];
  const p = reads[counters.reads % reads.length];
  counters.reads++;
  await call(main.api, "GET", p).catch(() => counters.ingestErrors++);
}

/** Every 3 minutes: if the dead endpoint is disabled, let its receiver answer for a while and enable it. */
async function reviveDead({ final = false } = {}) {
  const { body } = await call(deadProject.api, "GET", `/endpoints/${deadEndpoint.id}`);
  if (body.status !== "disabled" && !final) return;
  deadAnswers = 200;
  if (body.status === "disabled") {
    await call(deadProject.api, "POST", `/endpoints/${deadEndpoint.id}/enable`, undefined, 200);
    counters.enables++;
  }
  const deadline = Date.now() + (final ? 180_000 : 45_000);
  while (Date.now() < deadline && arrivedDead().size < deadEvents.size) await sleep(500);
  if (!final) deadAnswers = 500;
}

function okArrivals() {
  /** path → event id → 2xx arrivals */
  const byPath = new Map();
  for (const r of receiver.requests()) {
    if (!(r.status >= 200 && r.status < 300)) continue;
    const id = String(r.headers["webhook-id"]);
    if (!byPath.has(r.path)) byPath.set(r.path, new Map());
    const m = byPath.get(r.path);
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return byPath;
}
function arrivedDead() {
  return new Set(receiver.requests("/dead").filter((r) => r.status === 200).map((r) => String(r.headers["webhook-id"])));
}

function snapshot(final = false) {
  const now = Date.now();
  const byPath = okArrivals();
  let delivered = 0;
  let lost = 0;
  let duplicated = 0;
  const latencies = [];
  for (const [id, sentAt] of accepted) {
    const everywhere = HEALTHY.every((p) => byPath.get(p)?.has(id));
    if (everywhere) delivered++;
    else if (final || now - sentAt > LOST_AFTER_MS) lost++;
  }
  for (const p of [...HEALTHY, "/flaky"]) {
    for (const [id, n] of byPath.get(p) ?? []) duplicated += Math.max(0, n - 1 - (resent.get(`${p} ${id}`) ?? 0));
  }
  const windowStart = now - REPORT_EVERY_MS;
  for (const r of receiver.requests()) {
    if (!HEALTHY.includes(r.path) || r.receivedAt < windowStart || r.status !== 200) continue;
    const sentAt = accepted.get(String(r.headers["webhook-id"]));
    if (sentAt && r.index !== undefined) latencies.push(r.receivedAt - sentAt);
  }
  latencies.sort((a, b) => a - b);
  const pct = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : null);
  const deadArrived = arrivedDead();
  const deadLost = final ? [...deadEvents].filter((id) => !deadArrived.has(id)).length : null;
  return {
    minute: ((now - started) / 60_000).toFixed(1),
    requests: counters.requests,
    accepted: accepted.size,
    delivered,
    lost,
    duplicated,
    p50: pct(0.5),
    p99: pct(0.99),
    deadAccepted: deadEvents.size,
    deadDelivered: deadArrived.size,
    deadLost,
    flakyDelivered: byPath.get("/flaky")?.size ?? 0,
    rejected: counters.rejected,
    errors: counters.ingestErrors,
    resends: counters.resends,
    enables: counters.enables,
    processes: runtimeProcesses(stack.runDir),
  };
}

function printRow(row) {
  rows.push(row);
  const procs = row.processes.map((p) => `${p.name}:${p.fds}fd/${Math.round(p.rssKb / 1024)}MB${p.closeWait ? `/${p.closeWait}cw` : ""}`).join(" ");
  console.log(
    `[soak] ${row.minute.padStart(5)} min  req ${row.requests}  accepted ${row.accepted}  delivered ${row.delivered}  lost ${row.lost}  dup ${row.duplicated}  ` +
      `p50 ${fmt(row.p50)} p99 ${fmt(row.p99)}  dead ${row.deadDelivered}/${row.deadAccepted}  rejected ${row.rejected} errors ${row.errors}  ${procs}`,
  );
}
const fmt = (ms) => (ms === null ? "-" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** Runs `fn` every `everyMs` without overlapping itself, until the soak ends. */
function every(everyMs, fn) {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || Date.now() >= until) return;
    busy = true;
    try {
      await fn();
    } catch (error) {
      counters.ingestErrors++;
      if (counters.ingestErrors < 20) console.error(`[soak] ${error.message}`);
    } finally {
      busy = false;
    }
  }, everyMs);
  return () => clearInterval(timer);
}

const stops = [
  // Open loop for singles: each tick fires without waiting, so a slow API shows up as latency, not a lower rate.
  (() => {
    const timer = setInterval(() => Date.now() < until && void sendSingle(), 1000 / RATE);
    return () => clearInterval(timer);
  })(),
  every(2000, sendBatch),
  every(10_000, resendOne),
  every(1000 / READS, readLists),
  every(180_000, () => reviveDead()),
];
const reporter = setInterval(() => printRow(snapshot()), REPORT_EVERY_MS);

await sleep(until - Date.now());
for (const stop of stops) stop();
clearInterval(reporter);
console.log("[soak] traffic stopped; draining and reviving the dead endpoint one last time");
const drainDeadline = Date.now() + 240_000;
await reviveDead({ final: true });
while (Date.now() < drainDeadline && snapshot(true).lost > 0) await sleep(1000);
const final = snapshot(true);
printRow(final);

const table = [
  "| min | requests | accepted | delivered | lost | duplicated | p50 | p99 | " + final.processes.map((p) => `${p.name} fds / RSS`).join(" | ") + " |",
  "|---|---|---|---|---|---|---|---|" + final.processes.map(() => "---|").join(""),
  ...rows.map(
    (r) =>
      `| ${r.minute} | ${r.requests} | ${r.accepted} | ${r.delivered} | ${r.lost} | ${r.duplicated} | ${fmt(r.p50)} | ${fmt(r.p99)} | ` +
      r.processes.map((p) => `${p.fds} / ${Math.round(p.rssKb / 1024)} MB${p.closeWait ? ` (${p.closeWait} CLOSE-WAIT)` : ""}`).join(" | ") +
      " |",
  ),
].join("\n");
const summary = {
  minutes: MINUTES,
  rates: { singlePerSecond: RATE, batchEvery2s: BATCH, readsPerSecond: READS },
  requests: final.requests,
  eventsAccepted: final.accepted,
  deliveredToEveryHealthyEndpoint: final.delivered,
  lost: final.lost,
  duplicated: final.duplicated,
  deadEndpoint: { accepted: final.deadAccepted, delivered: final.deadDelivered, lost: final.deadLost, enables: final.enables },
  flakyDelivered: final.flakyDelivered,
  resends: final.resends,
  rejected: final.rejected,
  clientErrors: final.errors,
  memory: memoryTrend(rows),
};

/**
 * RSS per runtime process: first and last report, and the lowest report in each quarter of the run. Peaks
 * come and go with backlogs (the runtime gives them back), so the low points tell a warm-up (steps that
 * shrink) from growth that goes on (steps that do not); a least-squares slope was pulled up by two peaks.
 */
function memoryTrend(reports) {
  const names = [...new Set(reports.flatMap((r) => r.processes.map((p) => p.name)))];
  const rssMb = (report, name) => Math.round((report.processes.find((p) => p.name === name)?.rssKb ?? 0) / 1024);
  const quarters = [0, 1, 2, 3].map((q) => reports.slice(Math.floor((q * reports.length) / 4), Math.floor(((q + 1) * reports.length) / 4)));
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        firstMb: rssMb(reports[0], name),
        lastMb: rssMb(reports.at(-1), name),
        lowestPerQuarterMb: quarters.filter((q) => q.length > 0).map((q) => Math.min(...q.map((r) => rssMb(r, name)))),
      },
    ]),
  );
}
const outDir = path.join(stack.runDir, "..", "..", "soak");
fs.mkdirSync(outDir, { recursive: true });
const outFile = path.join(outDir, `${new Date().toISOString().replace(/[:.]/g, "-")}.md`);
fs.writeFileSync(outFile, `${table}\n\n\`\`\`json\n${JSON.stringify(summary, null, 2)}\n\`\`\`\n`);
console.log(`\n${table}\n\n${JSON.stringify(summary, null, 2)}\n[soak] written to ${path.relative(process.cwd(), outFile)}`);
await cleanup();
process.exit(final.lost === 0 && final.deadLost === 0 && final.duplicated === 0 ? 0 : 1);
