// Starts a private, throwaway Ferry stack (API worker, optional dashboard and sweeper) for tests and benchmarks.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createApi } from "./api-client.mjs";
import { dashboardExists, startDashboard, waitForDashboard } from "./dashboard.mjs";
import { freePorts } from "./ports.mjs";
import { startSweeper, sweep } from "./sweeper.mjs";
import { ROOT, applyMigrations, startWorker, waitForApi, wranglerEnv } from "./wrangler.mjs";

/**
 * Defaults suited to tests: receivers listen on 127.0.0.1, so private addresses must be allowed; alert
 * e-mail goes to a closed local port unless a test points it at its MailChannels mock, so nothing can
 * reach the internet.
 */
export const DEFAULT_VARS = Object.freeze({
  ADMIN_TOKEN: "e2e-admin-token",
  ALLOW_PRIVATE_NETWORK: "true",
  MAILCHANNELS_API_URL: "http://127.0.0.1:9/tx/v1/send",
  MAILCHANNELS_API_KEY: "e2e-mailchannels-key",
});

/**
 * @typedef {object} StackOptions
 * @property {Record<string, string|number|boolean>} [vars]  worker vars merged over {@link DEFAULT_VARS}, each passed as
 *   `--var KEY:VALUE`, e.g. `{RETRY_SCHEDULE: "1,1", SWEEP_GRACE_SECONDS: 2, MAILCHANNELS_API_URL: mail.url}`
 * @property {boolean} [dashboard]  also start the dashboard's `vite dev` (throws if `dashboard/src` does not exist)
 * @property {number} [sweepEveryMs]  also call the cron route every N ms (local wrangler never fires crons)
 * @property {Record<string, string>} [dashboardEnv]  extra environment for the dashboard process
 * @property {boolean} [keep]  keep the run directory (state, logs) after stop; also `FERRY_KEEP_STATE=1`
 *
 * @typedef {object} Stack
 * @property {string} apiUrl  `http://127.0.0.1:<port>`
 * @property {string|null} dashboardUrl  null unless `dashboard: true`
 * @property {string} adminToken
 * @property {Record<string, string>} vars  the vars the worker was started with
 * @property {string} runDir  `.wrangler/e2e/<id>`: persist/, registry/, logs/, output.log
 * @property {import("./api-client.mjs").Api} api  `api(method, path, body?, token?, headers?)` → `{status, headers, body, text}`
 * @property {(token?: string|null, headers?: Record<string,string>) => (method: string, path: string, body?: unknown) => Promise<import("./api-client.mjs").ApiResponse>} client
 *   `api` with the token (and e.g. `{"Ferry-Project": id}`) bound
 * @property {() => Promise<number>} sweep  run the scheduled handler once now
 * @property {() => Promise<{restartedAt: number, readyAt: number}>} crashAndRestart  SIGKILL the worker's whole
 *   process group, start it again on the same state and port, and wait until it answers
 * @property {() => string} logs  everything wrangler and vite printed so far (print it when a test fails)
 * @property {() => Promise<void>} stop  kill every process group, remove the run directory; safe to call twice
 */

/**
 * Start the real local stack on free ports with fresh D1/DO state.
 * @param {StackOptions} [options]
 * @returns {Promise<Stack>}
 * @example
 * const stack = await startStack({ vars: { RETRY_SCHEDULE: "1,1" }, sweepEveryMs: 2000 });
 * after(() => stack.stop());
 * const { body: project } = await stack.api("POST", "/projects", { name: "t" }, stack.adminToken);
 */
export async function startStack(options = {}) {
  if (options.dashboard && !dashboardExists()) {
    throw new Error("startStack({dashboard: true}): dashboard/src does not exist yet");
  }
  const id = `${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`;
  const runDir = path.join(ROOT, ".wrangler/e2e", id);
  const persistTo = path.join(runDir, "persist");
  const outputPath = path.join(runDir, "output.log");
  fs.mkdirSync(persistTo, { recursive: true });
  const envFile = path.join(runDir, "empty.env");
  fs.writeFileSync(envFile, "");
  const env = wranglerEnv(
    { registryPath: path.join(runDir, "registry"), logPath: path.join(runDir, "logs") },
    { FORCE_COLOR: "0", NO_COLOR: "1" },
  );
  let keep = options.keep ?? process.env.FERRY_KEEP_STATE === "1";
  const [apiPort, dashboardPort] = await freePorts(2);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const dashboardUrl = options.dashboard ? `http://127.0.0.1:${dashboardPort}` : null;
  /** @type {Record<string, string>} */
  const vars = Object.fromEntries(
    Object.entries({ ...DEFAULT_VARS, ...(dashboardUrl && { DASHBOARD_URL: dashboardUrl }), ...options.vars }).map(
      ([k, v]) => [k, String(v)],
    ),
  );

  /** @type {import("./procs.mjs").Group[]} */
  const groups = [];
  /** @type {import("./procs.mjs").Group} */
  let worker;
  // The local queue lives in memory and dies with the runtime; the sweeper needs to know when this one began.
  const launchWorker = (/** @type {import("node:child_process").StdioOptions} */ stdio) =>
    startWorker({ port: apiPort, persistTo, vars: { ...vars, LOCAL_RUNTIME_STARTED_AT: String(Date.now()) }, envFile, env, stdio, outdir: path.join(runDir, "bundle") });
  /** @type {{stop: () => void} | undefined} */
  let ticker;
  let stopped = false;
  const logs = () => (fs.existsSync(outputPath) ? fs.readFileSync(outputPath, "utf8") : "");
  const describe = () => `--- last output (${path.relative(ROOT, outputPath)}) ---\n${tail(logs(), 40)}`;
  const removeRunDir = () => keep || fs.rmSync(runDir, { recursive: true, force: true });
  process.on("exit", removeRunDir);

  async function stop() {
    if (stopped) return;
    stopped = true;
    ticker?.stop();
    await Promise.all(groups.map((g) => g.stop()));
    process.off("exit", removeRunDir);
    removeRunDir();
  }

  // Children write straight to a file: a pipe nobody drains would eventually block wrangler.
  const out = fs.openSync(outputPath, "a");
  const stdio = /** @type {import("node:child_process").StdioOptions} */ (["ignore", out, out]);
  try {
    await applyMigrations({ persistTo, env, stdio });
    worker = launchWorker(stdio);
    groups.push(worker);
    /** @type {Promise<void>[]} */
    const ready = [waitForApi(apiUrl, { group: worker, describe })];
    if (dashboardUrl) {
      const dash = startDashboard({ port: dashboardPort, apiUrl, env: { ...env, ...options.dashboardEnv }, stdio });
      groups.push(dash);
      ready.push(waitForDashboard(dashboardUrl, { group: dash, describe }));
    }
    await Promise.all(ready);
  } catch (err) {
    // A stack that failed to start keeps its directory, so output.log and the wrangler debug log can be read.
    keep = true;
    await stop();
    throw new Error(`${/** @type {Error} */ (err).message}\n[stack] state and logs kept in ${path.relative(ROOT, runDir)}`, {
      cause: err,
    });
  } finally {
    fs.closeSync(out);
  }
  if (options.sweepEveryMs) {
    ticker = startSweeper(apiUrl, options.sweepEveryMs, {
      onError: (err) => fs.appendFileSync(outputPath, `[sweeper] ${err.message}\n`),
    });
  }

  /** SIGKILL every process of the worker (nothing gets to shut down), then start it again on the same state. */
  async function crashAndRestart() {
    process.kill(-worker.pid, "SIGKILL");
    await worker.stop(1000);
    const out = fs.openSync(outputPath, "a");
    fs.appendFileSync(outputPath, "[stack] worker SIGKILLed; starting it again on the same state\n");
    const restartedAt = Date.now();
    const next = launchWorker(["ignore", out, out]);
    fs.closeSync(out);
    groups.splice(groups.indexOf(worker), 1, next);
    worker = next;
    await waitForApi(apiUrl, { group: worker, describe });
    return { restartedAt, readyAt: Date.now() };
  }

  const api = createApi(apiUrl);
  return {
    apiUrl,
    dashboardUrl,
    adminToken: vars.ADMIN_TOKEN,
    vars,
    runDir,
    api,
    client: (token, headers) => (method, p, body) => api(method, p, body, token, headers),
    sweep: () => sweep(apiUrl),
    crashAndRestart,
    logs,
    stop,
  };
}

/** @param {string} text @param {number} n */
function tail(text, n) {
  return text.split("\n").slice(-n).join("\n");
}
