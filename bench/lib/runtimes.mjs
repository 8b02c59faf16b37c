// Starts Ferry (from a source snapshot) or the no-op worker under `npm run dev`'s runtime or under unstable_startWorker with the inspector off.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createApi } from "../../scripts/lib/api-client.mjs";
import { freePort } from "../../scripts/lib/ports.mjs";
import { spawnGroup } from "../../scripts/lib/procs.mjs";
import { DEFAULT_VARS } from "../../scripts/lib/stack.mjs";
import { startSweeper } from "../../scripts/lib/sweeper.mjs";
import { pollUntil } from "../../scripts/lib/wait.mjs";
import { ROOT, waitForApi, wranglerEnv } from "../../scripts/lib/wrangler.mjs";
import { findGroup } from "./cpu.mjs";

export const RUNTIMES = /** @type {const} */ ({
  noinsp: "unstable_startWorker with the DevTools inspector off (wrangler 4.86.0: same bundle, miniflare and workerd)",
  dev: "`npm run dev`'s runtime: scripts/lib/serve-worker.mjs, the bundle on Miniflare/workerd with no dev proxy and no inspector",
});

const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const START_WORKER = path.join(import.meta.dirname, "start-worker.mjs");
const SERVE_WORKER = path.join(ROOT, "scripts/lib/serve-worker.mjs");
const NOOP_DIR = path.join(ROOT, "bench/noop");
/** The no-op consumer ceiling: POSTs each queue message to the receiver and acks it. */
export const NOOP_CONSUMER_DIR = path.join(ROOT, "bench/noop-consumer");
let stateBase = path.join(ROOT, ".wrangler/bench");
/** scripts/dev.mjs's sweep interval. */
const DEV_SWEEP_EVERY_MS = 5_000;

/** Where local D1/DO state and wrangler logs go (default .wrangler/bench); a tmpfs takes disk syncs out of the picture. @param {string} dir */
export function setStateDir(dir) {
  stateBase = path.resolve(dir);
}

/**
 * @typedef {object} Ferry
 * @property {string} apiUrl
 * @property {string} adminToken
 * @property {import("../../scripts/lib/api-client.mjs").Api} api
 * @property {string} runDir
 * @property {number|null} pgid  the process group of wrangler's node + workerd, for CPU accounting
 * @property {() => number} logBytes  size of wrangler's debug log so far (the inspector relays into it)
 * @property {string} outputPath  what wrangler printed (request log, QUEUE batch lines, console.error from the worker)
 * @property {() => Promise<void>} stop
 *
 * @typedef {object} Noop
 * @property {string} url  the one route, `http://127.0.0.1:<port>/api/v1/events`
 * @property {string} origin  `http://127.0.0.1:<port>`
 * @property {number|null} pgid
 * @property {() => Promise<void>} stop
 */

/**
 * Ferry's API + consumer + DO worker built from `srcDir` (a snapshot with wrangler.toml), on a free port with
 * fresh D1/DO state. Like scripts/lib/stack.mjs, but wrangler runs with the snapshot as its working directory.
 * @param {keyof typeof RUNTIMES} runtime
 * @param {string} srcDir
 * @param {Record<string, string|number|boolean>} vars  merged over stack.mjs's DEFAULT_VARS
 * @returns {Promise<Ferry>}
 */
export async function startFerry(runtime, srcDir, vars) {
  const allVars = Object.fromEntries(Object.entries({ ...DEFAULT_VARS, ...vars }).map(([k, v]) => [k, String(v)]));
  const run = runDirectory("ferry");
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const out = fs.openSync(run.outputPath, "a");
  const stdio = /** @type {import("node:child_process").StdioOptions} */ (["ignore", out, out]);
  /** @type {import("../../scripts/lib/procs.mjs").Group | undefined} */
  let group;
  try {
    const migrate = spawnGroup("d1 migrations", process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", run.persistTo], {
      cwd: srcDir,
      env: { ...run.env, CI: "true" },
      stdio,
    });
    const code = await migrate.exited;
    await migrate.stop(2000);
    if (code !== 0) throw new Error(`wrangler d1 migrations apply exited with ${code}`);
    if (runtime === "dev") {
      group = spawnGroup("ferry (npm run dev's runtime)", process.execPath, [SERVE_WORKER, serveOptions(srcDir, "ferry-api", port, run, allVars)], { cwd: srcDir, env: run.env, stdio });
    } else {
      const opts = { config: path.join(srcDir, "wrangler.toml"), port, persist: run.persistTo, vars: allVars, envFile: run.envFile };
      group = spawnGroup("ferry (inspector off)", process.execPath, [START_WORKER, JSON.stringify(opts)], { cwd: srcDir, env: run.env, stdio });
    }
    await waitForApi(apiUrl, { group, describe: () => tail(run.outputPath) });
  } catch (err) {
    await group?.stop();
    throw new Error(`${/** @type {Error} */ (err).message}\n[bench] logs kept in ${path.relative(ROOT, run.dir)}`, { cause: err });
  } finally {
    fs.closeSync(out);
  }
  const g = group;
  // As `npm run dev` does: the cron on a timer, so messages the local queue fails to take are sent again.
  const sweeper = runtime === "dev" ? startSweeper(apiUrl, DEV_SWEEP_EVERY_MS) : null;
  return {
    apiUrl,
    adminToken: allVars.ADMIN_TOKEN,
    api: createApi(apiUrl),
    runDir: run.dir,
    pgid: findGroup(run.dir),
    logBytes: () => dirBytes(path.join(run.dir, "logs")),
    outputPath: run.outputPath,
    stop: async () => {
      sweeper?.stop();
      await g.stop();
      fs.rmSync(run.dir, { recursive: true, force: true });
    },
  };
}

/**
 * The no-op ceiling (bench/noop, or another no-op worker dir such as NOOP_CONSUMER_DIR) under the same runtime and flags.
 * @param {keyof typeof RUNTIMES} runtime
 * @param {string} [dir]
 * @returns {Promise<Noop>}
 */
export async function startNoop(runtime, dir = NOOP_DIR) {
  const run = runDirectory("noop");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/api/v1/events`;
  const out = fs.openSync(run.outputPath, "a");
  const stdio = /** @type {import("node:child_process").StdioOptions} */ (["ignore", out, out]);
  /** @type {import("../../scripts/lib/procs.mjs").Group} */
  let group;
  if (runtime === "dev") {
    group = spawnGroup("noop (npm run dev's runtime)", process.execPath, [SERVE_WORKER, serveOptions(dir, path.basename(dir), port, run, {})], { cwd: dir, env: run.env, stdio });
  } else {
    const opts = { config: path.join(dir, "wrangler.toml"), port, persist: run.persistTo, vars: {}, envFile: run.envFile };
    group = spawnGroup("noop (inspector off)", process.execPath, [START_WORKER, JSON.stringify(opts)], { cwd: dir, env: run.env, stdio });
  }
  fs.closeSync(out);
  try {
    await pollUntil(
      url,
      async () => {
        const res = await fetch(url, { method: "POST", body: "{}", headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(5000) });
        const body = await res.json().catch(() => null);
        return res.status === 202 && body?.ok === true;
      },
      { timeoutMs: 90_000, group, describe: () => tail(run.outputPath) },
    );
  } catch (err) {
    await group.stop();
    throw err;
  }
  return {
    url,
    origin: `http://127.0.0.1:${port}`,
    pgid: findGroup(run.dir),
    stop: async () => {
      await group.stop();
      fs.rmSync(run.dir, { recursive: true, force: true });
    },
  };
}

/** A throwaway directory under the state dir with wrangler's env (private dev registry, debug logs kept there). */
function runDirectory(kind) {
  const dir = path.join(stateBase, `${kind}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`);
  const persistTo = path.join(dir, "persist");
  fs.mkdirSync(persistTo, { recursive: true });
  const envFile = path.join(dir, "empty.env");
  fs.writeFileSync(envFile, "");
  const env = wranglerEnv({ registryPath: path.join(dir, "registry"), logPath: path.join(dir, "logs") }, { FORCE_COLOR: "0", NO_COLOR: "1" });
  return { dir, persistTo, envFile, env, outputPath: path.join(dir, "output.log") };
}

/**
 * serve-worker.mjs's options for the worker in `dir`, as `npm run dev` passes them (scripts/lib/wrangler.mjs, `startWorker`).
 * @param {string} dir @param {string} name @param {number} port
 * @param {ReturnType<typeof runDirectory>} run @param {Record<string, string>} vars
 */
function serveOptions(dir, name, port, run, vars) {
  return JSON.stringify({ config: path.join(dir, "wrangler.toml"), name, port, persistTo: run.persistTo, registryPath: run.env.WRANGLER_REGISTRY_PATH, envFile: run.envFile, vars, outdir: path.join(run.dir, "serve") });
}

/** @param {string} dir */
function dirBytes(dir) {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** @param {string} file */
function tail(file) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  return `--- last output (${path.relative(ROOT, file)}) ---\n${text.split("\n").slice(-40).join("\n")}`;
}
