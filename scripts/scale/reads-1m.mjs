// `npm run scale:reads`: p50/p95 of every list and detail read with a million events in one project.
//
//   1. N events (SCALE_EVENTS, default 1,000,000) are sent through the API, 100 per POST /events/batch, by
//      several callers, to one project with two endpoints: "all" subscribes to everything and is disabled,
//      so each event gets a paused delivery (the backlog exists, nothing is sent); "shipped" is active,
//      points at a local receiver and subscribes to `order.shipped` (1 % of the events), so a slice of the
//      deliveries succeeds and has attempts. 0.1 % of the events are `invoice.failed`, a rare type.
//   2. Once the active deliveries are done, every read is requested SCALE_SAMPLES times in turn (after a
//      warm-up) and its p50/p95 printed; the target is p95 < 50 ms.
//
// Options (environment): SCALE_EVENTS, SCALE_SAMPLES (40), SCALE_CALLERS (4), FERRY_KEEP_STATE=1 keeps the state.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createApi } from "../lib/api-client.mjs";
import { freePorts } from "../lib/ports.mjs";
import { exitWithParent } from "../lib/procs.mjs";
import { sweep } from "../lib/sweeper.mjs";
import { ROOT, applyMigrations, startWorker, waitForApi, wranglerEnv } from "../lib/wrangler.mjs";

const EVENTS = Number(process.env.SCALE_EVENTS ?? 1_000_000);
const SAMPLES = Number(process.env.SCALE_SAMPLES ?? 40);
const CALLERS = Number(process.env.SCALE_CALLERS ?? 4);
const BATCH = 100;
const TARGET_P95_MS = 50;
const ADMIN_TOKEN = "scale-admin-token";

exitWithParent();
const runDir = path.join(ROOT, ".wrangler/scale", `reads-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`);
const persistTo = path.join(runDir, "persist");
fs.mkdirSync(persistTo, { recursive: true });
const envFile = path.join(runDir, "empty.env");
fs.writeFileSync(envFile, "");
const outputPath = path.join(runDir, "output.log");
const env = wranglerEnv({ registryPath: path.join(runDir, "registry"), logPath: path.join(runDir, "logs") }, { FORCE_COLOR: "0", NO_COLOR: "1" });
const log = (...args) => console.log(`[scale:reads ${new Date().toISOString().slice(11, 19)}]`, ...args);

const receiver = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (receiver.address()).port}/hook`;

const [apiPort] = await freePorts(1);
const apiUrl = `http://127.0.0.1:${apiPort}`;
const api = createApi(apiUrl);
const worker = await start();
try {
  const { body: project } = await api("POST", "/projects", { name: "scale-reads" }, ADMIN_TOKEN);
  const key = project.apiKey;
  const all = await created(api("POST", "/endpoints", { url: `${receiverUrl}?all`, description: "all, disabled" }, key));
  const disabled = await api("POST", `/endpoints/${all.id}/disable`, {}, key);
  if (disabled.status >= 300) throw new Error(`disable: ${disabled.status} ${disabled.text}`);
  const shipped = await created(api("POST", "/endpoints", { url: `${receiverUrl}?shipped`, eventTypes: ["order.shipped"] }, key));

  log(`ingesting ${EVENTS} events in batches of ${BATCH}, ${CALLERS} callers`);
  const t0 = Date.now();
  const sample = await ingestAll(key);
  const ingestSeconds = (Date.now() - t0) / 1000;
  log(`ingested in ${ingestSeconds.toFixed(1)} s (${Math.round(EVENTS / ingestSeconds)} events/s); waiting for the active endpoint's deliveries`);
  const delivered = await waitUntilSent(countType("order.shipped"));
  log(`${delivered} deliveries to the active endpoint succeeded`);

  const ids = await pickIds(key, shipped.id);
  const reads = [
    ["events", "/events?limit=50"],
    ["events ?eventType (common)", "/events?limit=50&eventType=order.paid"],
    ["events ?eventType (rare)", "/events?limit=50&eventType=invoice.failed"],
    ["events ?status=paused", "/events?limit=50&status=paused"],
    ["events ?status=succeeded", "/events?limit=50&status=succeeded"],
    ["events ?status=failed (none)", "/events?limit=50&status=failed"],
    ["events ?endpointId (1 %)", `/events?limit=50&endpointId=${shipped.id}`],
    ["events ?search (no match)", "/events?limit=50&search=no-such-key"],
    ["events ?since 10 min", `/events?limit=50&since=${encodeURIComponent(new Date(Date.now() - 600_000).toISOString())}`],
    ["events deep page (cursor)", () => `/events?limit=50&cursor=${pick(sample)}`],
    ["event detail", () => `/events/${pick(sample)}`],
    ["deliveries", "/deliveries?limit=50"],
    ["deliveries ?status=succeeded", "/deliveries?limit=50&status=succeeded"],
    ["deliveries ?status=failed (none)", "/deliveries?limit=50&status=failed"],
    ["deliveries ?endpointId (1 %)", `/deliveries?limit=50&endpointId=${shipped.id}`],
    ["deliveries ?eventType (rare)", "/deliveries?limit=50&eventType=invoice.failed"],
    ["deliveries ?eventId", () => `/deliveries?limit=50&eventId=${pick(sample)}`],
    ["delivery detail (+ attempts)", () => `/deliveries/${pick(ids.deliveries)}`],
    ["endpoints", "/endpoints?limit=50"],
    ["endpoint detail", `/endpoints/${shipped.id}`],
    ["stats (24 h)", "/stats"],
    ["event-types", "/event-types"],
    ["alerts", "/alerts?limit=50"],
    ["applications", "/applications?limit=50"],
  ];
  const rows = [];
  for (const [name, target] of reads) rows.push({ name, ...(await measure(key, target)) });
  const report = { events: EVENTS, ingestSeconds, delivered, samples: SAMPLES, reads: rows };
  fs.writeFileSync(path.join(runDir, "report.json"), JSON.stringify(report, null, 2));
  print(rows);
  const slow = rows.filter((row) => row.p95 >= TARGET_P95_MS);
  log(slow.length === 0 ? `every read has p95 < ${TARGET_P95_MS} ms` : `p95 ≥ ${TARGET_P95_MS} ms: ${slow.map((row) => row.name).join(", ")}`);
  process.exitCode = slow.length === 0 ? 0 : 1;
} finally {
  await worker.stop();
  receiver.close();
  if (process.env.FERRY_KEEP_STATE !== "1") fs.rmSync(runDir, { recursive: true, force: true });
  else log(`state kept in ${path.relative(ROOT, runDir)}`);
}

async function start() {
  const out = fs.openSync(outputPath, "a");
  const stdio = /** @type {import("node:child_process").StdioOptions} */ (["ignore", out, out]);
  await applyMigrations({ persistTo, env, stdio });
  const vars = { ADMIN_TOKEN, ALLOW_PRIVATE_NETWORK: "true", MAILCHANNELS_API_URL: "http://127.0.0.1:9/tx/v1/send" };
  const group = startWorker({ port: apiPort, persistTo, vars, envFile, env, stdio });
  await waitForApi(apiUrl, { group });
  fs.closeSync(out);
  return group;
}

/** @param {Promise<import("../lib/api-client.mjs").ApiResponse>} request */
async function created(request) {
  const res = await request;
  if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${res.text}`);
  return res.body;
}

/** 1 % order.shipped, 0.1 % invoice.failed, the rest order.paid. */
function typeOf(i) {
  return i % 100 === 7 ? "order.shipped" : i % 1000 === 3 ? "invoice.failed" : "order.paid";
}

function countType(type) {
  let n = 0;
  for (let i = 0; i < EVENTS; i++) if (typeOf(i) === type) n++;
  return n;
}

/** Sends every event; returns a sample of the event ids accepted (one per batch), spread over the whole range. */
async function ingestAll(key) {
  let next = 0;
  let lastLog = Date.now();
  const sample = [];
  const lane = async () => {
    while (next < EVENTS) {
      const from = next;
      next += BATCH;
      const events = Array.from({ length: Math.min(BATCH, EVENTS - from) }, (_, j) => ({
        eventType: typeOf(from + j),
        payload: { order: from + j, customer: `cus_${(from + j) % 5000}`, amount: (from + j) % 997 },
      }));
      const res = await api("POST", "/events/batch", { events }, key);
      if (res.status !== 202) throw new Error(`batch ingest at ${from}: ${res.status} ${res.text.slice(0, 300)}`);
      sample.push(res.body.events[0].id);
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        log(`  ${next} / ${EVENTS}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, lane));
  return sample;
}

/** Polls the D1 file, not the API, so waiting adds no load to the worker. */
async function waitUntilSent(expected) {
  const file = d1File();
  let last = -1;
  let stalledSince = Date.now();
  for (;;) {
    const done = Number(sqlite(file, "select count(*) from deliveries where status = 'succeeded'"));
    if (done >= expected) return done;
    if (done !== last) [last, stalledSince] = [done, Date.now()];
    // Local queue messages can be lost; the sweeper finds those again after its grace period.
    if (Date.now() - stalledSince > 30_000) await sweep(apiUrl).catch(() => {});
    if (Date.now() - stalledSince > 300_000) throw new Error(`deliveries stalled at ${done}/${expected}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** Succeeded deliveries (with attempts) for the delivery detail read. */
async function pickIds(key, endpointId) {
  const res = await api("GET", `/deliveries?limit=100&endpointId=${endpointId}`, undefined, key);
  return { deliveries: res.body.data.map((row) => row.id) };
}

function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

/** Sequential requests (a warm-up, then SAMPLES), each timed from send to the last byte. */
async function measure(key, target) {
  const pathOf = typeof target === "function" ? target : () => target;
  const times = [];
  for (let i = 0; i < SAMPLES + 3; i++) {
    const t0 = performance.now();
    const res = await api("GET", pathOf(), undefined, key);
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET ${pathOf()}: ${res.status} ${res.text.slice(0, 300)}`);
    if (i >= 3) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const at = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 10) / 10;
  return { p50: at(0.5), p95: at(0.95), max: Math.round(times.at(-1) * 10) / 10 };
}

function print(rows) {
  const width = Math.max(...rows.map((row) => row.name.length));
  console.log(`\n${"read".padEnd(width)}  ${"p50 ms".padStart(8)}  ${"p95 ms".padStart(8)}  ${"max ms".padStart(8)}`);
  for (const row of rows) console.log(`${row.name.padEnd(width)}  ${String(row.p50).padStart(8)}  ${String(row.p95).padStart(8)}  ${String(row.max).padStart(8)}`);
  console.log(`(${EVENTS} events, ${SAMPLES} samples per read)\n`);
}

function d1File() {
  const dir = path.join(persistTo, "v3/d1/miniflare-D1DatabaseObject");
  const file = fs.readdirSync(dir).find((name) => name.endsWith(".sqlite") && sqlite(path.join(dir, name), "select count(*) from sqlite_master where name = 'events'") === "1");
  if (!file) throw new Error(`no D1 file with an events table in ${dir}`);
  return path.join(dir, file);
}

/** @param {string} file @param {string} query */
function sqlite(file, query) {
  const res = spawnSync("sqlite3", ["-cmd", ".timeout 10000", file, query], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`sqlite3: ${res.stderr}`);
  return res.stdout.trim();
}
