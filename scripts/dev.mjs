// `npm run dev`: the API worker on :8787 with persisted local state, the dashboard on :5173, and a sweeper timer.
import fs from "node:fs";
import path from "node:path";
import { dashboardExists, startDashboard, waitForDashboard } from "./lib/dashboard.mjs";
import { isPortFree } from "./lib/ports.mjs";
import { exitWithParent, stopAll } from "./lib/procs.mjs";
import { startSampleReceiver } from "./lib/sample-receiver.mjs";
import { startSweeper } from "./lib/sweeper.mjs";
import { ROOT, applyMigrations, startWorker, waitForApi, wranglerEnv } from "./lib/wrangler.mjs";

const API_PORT = Number(process.env.API_PORT ?? 8787);
const DASHBOARD_PORT = Number(process.env.DASHBOARD_PORT ?? 5173);
const RECEIVER_PORT = Number(process.env.RECEIVER_PORT ?? 9999);
// Each sweep also sends the queue heartbeat that finds lost messages, so its interval bounds recovery time.
const SWEEP_EVERY_MS = 5_000;
// The DevTools inspector relays an event to node for every subrequest, which costs 2-3x the CPU under load
// (bench/RESULTS.md), so it is off unless asked for: `npm run dev -- --inspect` (port 9229, or INSPECTOR_PORT).
const INSPECTOR_PORT = process.argv.includes("--inspect") ? Number(process.env.INSPECTOR_PORT ?? 9229) : undefined;
const stateDir = path.resolve(ROOT, process.env.DEV_STATE ?? ".wrangler/state");
const apiUrl = `http://127.0.0.1:${API_PORT}`;
const dashboardUrl = `http://127.0.0.1:${DASHBOARD_PORT}`;
const rel = (p) => path.relative(ROOT, p) || ".";

exitWithParent();
ensureDevVars();
// `npm run dev -- --api-only`: the API worker, its sweeper and the receiver, without the dashboard.
const withDashboard = dashboardExists() && !process.argv.includes("--api-only");
await ensurePortsFree();

const env = wranglerEnv({ registryPath: path.join(stateDir, "registry"), logPath: path.join(ROOT, ".wrangler/logs") });
console.log(`[dev] applying D1 migrations to ${rel(stateDir)}`);
await applyMigrations({ persistTo: stateDir, env });

// .dev.vars is read here (the e2e stack passes an empty env file instead), so a developer's edits there win.
// LOCAL_RUNTIME_STARTED_AT: the local queue lives in memory, so the sweeper re-enqueues at once whatever was
// enqueued (and releases whatever was claimed) before this start, instead of waiting for a heartbeat.
const vars = { LOCAL_RUNTIME_STARTED_AT: Date.now(), ...(DASHBOARD_PORT === 5173 ? {} : { DASHBOARD_URL: dashboardUrl }) };
const worker = startWorker({ port: API_PORT, inspectorPort: INSPECTOR_PORT, persistTo: stateDir, vars, env, watch: true });
const dashboard = withDashboard ? startDashboard({ port: DASHBOARD_PORT, apiUrl, env }) : null;
for (const g of [worker, dashboard]) {
  g?.exited.then(async (code) => {
    if (g.stopping) return;
    console.error(`[dev] ${g.name} exited (${code}); stopping everything`);
    await stopAll();
    process.exit(1);
  });
}

await waitForApi(apiUrl, { group: worker });
// Once now, not only every 5 s: queue messages live in memory, so deliveries a previous run had in flight
// are only found again by the sweeper reading D1.
let lastSweepError = "";
startSweeper(apiUrl, SWEEP_EVERY_MS, {
  immediate: true,
  onError: (err) => {
    if (err.message !== lastSweepError) console.error(`[dev] sweeper: ${err.message}`);
    lastSweepError = err.message;
  },
});
if (dashboard) await waitForDashboard(dashboardUrl, { group: dashboard });
const receiver = (await isPortFree(RECEIVER_PORT)) ? await startSampleReceiver(RECEIVER_PORT) : null;
banner();

function banner() {
  const token = readDevVar("ADMIN_TOKEN");
  const lines = [
    "",
    "Ferry is running",
    `  API        ${apiUrl}   (GET /healthz, docs at /api/v1/openapi.json; reloads when workers/ changes)`,
    INSPECTOR_PORT
      ? `  Debugger   chrome://inspect → 127.0.0.1:${INSPECTOR_PORT}`
      : "  Debugger   off (npm run dev -- --inspect)",
    withDashboard ? `  Dashboard  ${dashboardUrl}` : "  Dashboard  not started (--api-only)",
    receiver
      ? `  Receiver   http://127.0.0.1:${RECEIVER_PORT}/any-path answers 200 (/fail... answers 500) and logs each webhook`
      : `  Receiver   skipped: port ${RECEIVER_PORT} is in use`,
    `  Admin      Authorization: Bearer ${token ?? "<ADMIN_TOKEN in .dev.vars>"}   (ADMIN_TOKEN in .dev.vars)`,
    `  State      ${rel(stateDir)} (set DEV_STATE to use another); sweeper every ${SWEEP_EVERY_MS / 1000} s`,
    "  Ctrl-C stops everything.",
    "",
  ];
  console.log(lines.join("\n"));
}

function ensureDevVars() {
  const target = path.join(ROOT, ".dev.vars");
  if (fs.existsSync(target)) return;
  fs.copyFileSync(path.join(ROOT, ".dev.vars.example"), target);
  console.log("[dev] created .dev.vars from .dev.vars.example");
}

/** @param {string} key @returns {string|undefined} */
function readDevVar(key) {
  const text = fs.readFileSync(path.join(ROOT, ".dev.vars"), "utf8");
  const line = text.split("\n").find((l) => l.startsWith(`${key}=`));
  return line?.slice(key.length + 1).trim().replace(/^"(.*)"$/, "$1");
}

// Fail up front with a hint, rather than later with a bind error buried in wrangler's or vite's output.
async function ensurePortsFree() {
  const ports = [API_PORT, ...(withDashboard ? [DASHBOARD_PORT] : [])];
  for (const port of ports) {
    if (await isPortFree(port)) continue;
    console.error(`[dev] 127.0.0.1:${port} is already in use (another checkout's dev server?).`);
    console.error("[dev] Stop it, or pick other ports: API_PORT=8790 DASHBOARD_PORT=5180 npm run dev");
    process.exit(1);
  }
}
