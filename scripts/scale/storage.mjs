// `npm run scale:storage`: how many bytes of D1 one delivered event costs, and what deleting old rows by
// retention does to ingest while it runs. Seeds through the API only; reads the local D1 file with dbstat.
//
//   1. 20,000 events (1 KB payload each) to one endpoint that answers 200 with a 2 KB body, all delivered;
//      then dbstat on the local D1 file: bytes per delivered event, per table and index.
//   2. (when the API has retention) the worker is stopped, the delivered rows are copied as ~200,000 rows
//      40+ days old, the worker restarts on the same state, and the scheduled handler deletes them while a
//      steady ingest runs; every ingest request's latency is recorded.
//
// Options (environment): SCALE_EVENTS (20000), SCALE_OLD_ROWS (200000), FERRY_KEEP_STATE=1 keeps the state.
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

const EVENTS = Number(process.env.SCALE_EVENTS ?? 20_000);
const OLD_ROWS = Number(process.env.SCALE_OLD_ROWS ?? 200_000);
const PAYLOAD_BYTES = 1024;
const RESPONSE_BYTES = 2048;
const BATCH = 100;
const INGEST_CONCURRENCY = 4;
const ADMIN_TOKEN = "scale-admin-token";
const DAY_MS = 86_400_000;

exitWithParent();
const runDir = path.join(ROOT, ".wrangler/scale", `${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`);
const persistTo = path.join(runDir, "persist");
fs.mkdirSync(persistTo, { recursive: true });
const envFile = path.join(runDir, "empty.env");
fs.writeFileSync(envFile, "");
const outputPath = path.join(runDir, "output.log");
const env = wranglerEnv({ registryPath: path.join(runDir, "registry"), logPath: path.join(runDir, "logs") }, { FORCE_COLOR: "0", NO_COLOR: "1" });
const log = (...args) => console.log(`[scale ${new Date().toISOString().slice(11, 19)}]`, ...args);

const responseBody = JSON.stringify({ ok: true, note: "x".repeat(RESPONSE_BYTES - 24) }).slice(0, RESPONSE_BYTES);
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(responseBody));
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (receiver.address()).port}/hook`;

const [apiPort] = await freePorts(1);
const apiUrl = `http://127.0.0.1:${apiPort}`;
const api = createApi(apiUrl);
let worker = await start();
const report = { events: EVENTS, payloadBytes: PAYLOAD_BYTES, responseBytes: RESPONSE_BYTES };
try {
  const { body: project } = await api("POST", "/projects", { name: "scale" }, ADMIN_TOKEN);
  const key = project.apiKey;
  const created = await api("POST", "/endpoints", { url: receiverUrl }, key);
  if (created.status !== 201) throw new Error(`endpoint: ${created.status} ${created.text}`);

  log(`ingesting ${EVENTS} events of ${PAYLOAD_BYTES} B in batches of ${BATCH}`);
  const t0 = Date.now();
  await ingestAll(key, EVENTS);
  log(`ingested in ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for every delivery to succeed`);
  const delivered = await waitUntilDelivered(EVENTS);
  log(`delivered ${delivered} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const db = d1File();
  report.delivered = delivered;
  report.storage = measure(db, delivered);
  report.r2 = r2Usage();
  printStorage(report.storage, report.r2);

  const settings = await api("GET", "/project", undefined, key);
  if (settings.body?.retentionDays === undefined) {
    log("this API has no retention (GET /project has no retentionDays): skipping the deletion measurement");
  } else {
    report.retention = await measureRetention(key, db);
  }
  fs.mkdirSync(path.join(ROOT, ".wrangler/scale"), { recursive: true });
  fs.writeFileSync(path.join(runDir, "report.json"), JSON.stringify(report, null, 2));
  console.log(JSON.stringify(report, null, 2));
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

function payload(i) {
  const base = { order: i, customer: `cus_${i}`, filler: "" };
  const room = PAYLOAD_BYTES - JSON.stringify(base).length;
  return { ...base, filler: crypto.randomBytes(room).toString("base64").slice(0, room) };
}

async function ingestAll(key, count) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const from = next;
      next += BATCH;
      const events = Array.from({ length: Math.min(BATCH, count - from) }, (_, j) => ({ eventType: "order.paid", payload: payload(from + j) }));
      const res = await api("POST", "/events/batch", { events }, key);
      if (res.status !== 202) throw new Error(`batch ingest: ${res.status} ${res.text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: INGEST_CONCURRENCY }, lane));
}

/**
 * Polls the D1 file rather than the API, so the waiting adds no load to the worker being measured.
 * @returns {Promise<number>} the number of delivered events
 */
async function waitUntilDelivered(count) {
  const file = d1File();
  let last = -1;
  let stalledSince = Date.now();
  for (;;) {
    const [succeeded, total] = sqlite(file, "select count(*) filter (where status = 'succeeded') || '|' || count(*) from deliveries").split("|").map(Number);
    if (succeeded >= count && succeeded === total) return succeeded;
    if (succeeded !== last) [last, stalledSince] = [succeeded, Date.now()];
    // Local queue messages can be lost; the sweeper finds those again after its grace period.
    if (Date.now() - stalledSince > 30_000) await sweep(apiUrl).catch(() => {});
    if (Date.now() - stalledSince > 600_000) throw new Error(`deliveries stalled at ${succeeded}/${total}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
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

/** Bytes of the pages each table and index occupies (dbstat counts whole pages, as the database file does). */
function measure(file, delivered) {
  const rows = sqlite(
    file,
    "select d.name, coalesce(m.tbl_name, d.name), sum(d.pgsize), sum(d.pgsize - d.unused) from dbstat d left join sqlite_master m on m.name = d.name group by d.name order by 3 desc",
  )
    .split("\n")
    .map((line) => {
      const [name, table, pages, used] = line.split("|");
      return { name, table, bytes: Number(pages), usedBytes: Number(used) };
    });
  const pipeline = new Set(["events", "deliveries", "attempts"]);
  const perTable = {};
  for (const row of rows.filter((r) => pipeline.has(r.table))) {
    perTable[row.table] ??= { bytes: 0, indexes: {} };
    perTable[row.table].bytes += row.bytes;
    if (row.name !== row.table) perTable[row.table].indexes[row.name] = Math.round(row.bytes / delivered);
  }
  const pipelineBytes = Object.values(perTable).reduce((sum, t) => sum + t.bytes, 0);
  const fileBytes = rows.reduce((sum, r) => sum + r.bytes, 0);
  return {
    bytesPerDeliveredEvent: Math.round(pipelineBytes / delivered),
    fileBytesPerDeliveredEvent: Math.round(fileBytes / delivered),
    fileBytes,
    perTable: Object.fromEntries(Object.entries(perTable).map(([table, t]) => [table, { bytesPerEvent: Math.round(t.bytes / delivered), indexesBytesPerEvent: t.indexes }])),
  };
}

function r2Usage() {
  const dir = path.join(persistTo, "v3/r2");
  if (!fs.existsSync(dir)) return null;
  let objects = 0;
  let bytes = 0;
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (p.includes(`${path.sep}blobs${path.sep}`)) [objects, bytes] = [objects + 1, bytes + fs.statSync(p).size];
    }
  };
  walk(dir);
  return { objects, bytes };
}

function printStorage(storage, r2) {
  log(`D1: ${storage.bytesPerDeliveredEvent} B per delivered event in events + deliveries + attempts (whole file: ${storage.fileBytesPerDeliveredEvent} B)`);
  for (const [table, t] of Object.entries(storage.perTable)) log(`  ${table}: ${t.bytesPerEvent} B/event, of which indexes ${JSON.stringify(t.indexesBytesPerEvent)}`);
  if (r2) log(`R2: ${r2.objects} objects, ${(r2.bytes / 1e6).toFixed(1)} MB`);
}

/** The id prefix of a ULID made at `time` (see workers/db/ids.ts). */
function encodeTime(time) {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let encoded = "";
  for (let i = 0, t = time; i < 10; i++, t = Math.floor(t / 32)) encoded = alphabet[t % 32] + encoded;
  return encoded;
}

/**
 * Copies the delivered events (with their deliveries and attempts) under ids 40+ days old until `OLD_ROWS`
 * rows exist past a 30-day horizon. The worker is stopped meanwhile: two writers on one SQLite file would
 * only measure lock waits.
 */
function seedOldRows(file) {
  const columns = (table) => sqlite(file, `select group_concat(name, ',') from pragma_table_info('${table}')`).split(",");
  const renamed = (cols, map) => cols.map((c) => map[c] ?? c).join(", ");
  const perEvent = 3; // an event, its delivery, its attempt
  let remaining = Math.ceil(OLD_ROWS / perEvent);
  const statements = ["pragma foreign_keys = off;", "begin;"];
  for (let copy = 0; remaining > 0; copy++) {
    const at = Date.now() - (40 + copy) * DAY_MS;
    const shift = Date.now() - at;
    const t = encodeTime(at);
    const take = Math.min(remaining, Number(sqlite(file, `select count(*) from events where id > 'evt_${encodeTime(Date.now() - DAY_MS)}'`)));
    const reId = (col, prefix) => `'${prefix}_${t}' || substr(${col}, 15)`;
    const old = (col) => `${col} - ${shift}`;
    const ev = columns("events");
    const dl = columns("deliveries");
    const at_ = columns("attempts");
    statements.push(
      `create temp table pick as select id from events order by id limit ${take};`,
      `insert into events (${ev.join(", ")}) select ${renamed(ev, { id: reId("id", "evt"), created_at: old("created_at") })} from events where id in (select id from pick);`,
      `insert into deliveries (${dl.join(", ")}) select ${renamed(dl, {
        id: reId("id", "dlv"),
        event_id: reId("event_id", "evt"),
        created_at: old("created_at"),
        updated_at: old("updated_at"),
        last_attempt_at: old("last_attempt_at"),
      })} from deliveries where event_id in (select id from pick);`,
      `insert into attempts (${at_.join(", ")}) select ${renamed(at_, { id: reId("id", "att"), delivery_id: reId("delivery_id", "dlv"), started_at: old("started_at") })} from attempts where delivery_id in (select id from deliveries where event_id in (select id from pick));`,
      "drop table pick;",
    );
    remaining -= take;
  }
  statements.push("commit;");
  sqlite(file, statements.join("\n"));
}

function countOld(file, horizon) {
  const [events, deliveries, attempts] = sqlite(
    file,
    `select (select count(*) from events where id < 'evt_${horizon}') || '|' || (select count(*) from deliveries where id < 'dlv_${horizon}') || '|' || (select count(*) from attempts where id < 'att_${horizon}')`,
  )
    .split("|")
    .map(Number);
  return { events, deliveries, attempts, total: events + deliveries + attempts };
}

async function measureRetention(key, file) {
  log("stopping the worker to seed old rows");
  await worker.stop();
  const horizon = encodeTime(Date.now() - 30 * DAY_MS);
  seedOldRows(file);
  const seeded = countOld(file, horizon);
  log(`seeded ${seeded.total} rows past the 30-day horizon (${seeded.events} events, ${seeded.deliveries} deliveries, ${seeded.attempts} attempts)`);
  worker = await start();

  // A steady single-event ingest, one request at a time, before and while retention deletes.
  const latencies = { before: [], during: [] };
  const failures = [];
  let phase = "before";
  let ingesting = true;
  const ingestLoop = (async () => {
    let i = 0;
    while (ingesting) {
      const t = performance.now();
      const res = await api("POST", "/events", { eventType: "order.paid", payload: payload(i++) }, key).catch((error) => ({ status: 0, text: String(error.cause ?? error) }));
      if (res.status === 202) latencies[phase].push(performance.now() - t);
      else failures.push(`${phase} after ${Math.round(performance.now() - t)} ms: ${res.status} ${res.text.slice(0, 120)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise((r) => setTimeout(r, 10_000));
  phase = "during";
  const t0 = Date.now();
  let runs = 0;
  let left = seeded;
  const runMs = [];
  while (left.total > 0 && Date.now() - t0 < 900_000) {
    const t = Date.now();
    await sweep(apiUrl);
    runMs.push(Date.now() - t);
    runs += 1;
    left = countOld(file, horizon);
    log(`scheduled run ${runs}: ${runMs.at(-1)} ms, ${left.total} old rows left`);
  }
  const seconds = (Date.now() - t0) / 1000;
  ingesting = false;
  await ingestLoop;
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const q = (p) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]);
    return { requests: s.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: Math.round(s.at(-1)) };
  };
  const result = {
    rowsDeleted: seeded.total - left.total,
    rowsLeft: left.total,
    scheduledRuns: runs,
    runMsMax: Math.max(...runMs),
    seconds: Math.round(seconds),
    rowsPerSecond: Math.round((seeded.total - left.total) / seconds),
    ingestBefore: stats(latencies.before),
    ingestDuring: stats(latencies.during),
    ingestFailures: failures,
  };
  log(`retention deleted ${result.rowsDeleted} rows in ${result.seconds} s (${result.scheduledRuns} runs); ingest during it: ${JSON.stringify(result.ingestDuring)}, before: ${JSON.stringify(result.ingestBefore)}`);
  return result;
}
