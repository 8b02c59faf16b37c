// Starts Ferry or the no-op worker under one of two local runtimes: `wrangler dev`, or unstable_startWorker with the inspector off.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createApi } from "../../scripts/lib/api-client.mjs";
import { freePort } from "../../scripts/lib/ports.mjs";
import { spawnGroup } from "../../scripts/lib/procs.mjs";
import { DEFAULT_VARS, startStack } from "../../scripts/lib/stack.mjs";
import { pollUntil } from "../../scripts/lib/wait.mjs";
import { ROOT, applyMigrations, waitForApi, wranglerEnv } from "../../scripts/lib/wrangler.mjs";
import { findGroup } from "./cpu.mjs";

export const RUNTIMES = /** @type {const} */ ({
  noinsp: "unstable_startWorker, DevTools inspector off (wrangler 4.86.0, same bundle and miniflare)",
  dev: "`wrangler dev` 4.86.0 (inspector on, as scripts/lib/stack.mjs starts it)",
});

const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const START_WORKER = path.join(import.meta.dirname, "start-worker.mjs");
const NOOP_CONFIG = path.join(ROOT, "bench/noop/wrangler.toml");

/**
 * @typedef {object} Ferry
 * @property {string} apiUrl
 * @property {string} adminToken
 * @property {import("../../scripts/lib/api-client.mjs").Api} api
 * @property {string} runDir
 * @property {number|null} pgid  the process group of wrangler + workerd, for CPU accounting
 * @property {() => Promise<void>} stop
 *
 * @typedef {object} Noop
 * @property {string} url  the one route, `http://127.0.0.1:<port>/api/v1/events`
 * @property {number|null} pgid
 * @property {() => Promise<void>} stop
 */

/**
 * Ferry's API + consumer + DO worker on a free port with fresh D1/DO state.
 * @param {keyof typeof RUNTIMES} runtime
 * @param {Record<string, string|number|boolean>} vars  merged over stack.mjs's DEFAULT_VARS
 * @returns {Promise<Ferry>}
 */
export async function startFerry(runtime, vars) {
  if (runtime === "dev") {
    const stack = await startStack({ vars });
    return { apiUrl: stack.apiUrl, adminToken: stack.adminToken, api: stack.api, runDir: stack.runDir, pgid: findGroup(stack.runDir), stop: stack.stop };
  }
  const allVars = Object.fromEntries(Object.entries({ ...DEFAULT_VARS, ...vars }).map(([k, v]) => [k, String(v)]));
  const run = runDirectory("ferry");
  const out = fs.openSync(run.outputPath, "a");
  const stdio = /** @type {import("node:child_process").StdioOptions} */ (["ignore", out, out]);
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  /** @type {import("../../scripts/lib/procs.mjs").Group | undefined} */
  let group;
  const stop = async () => {
    await group?.stop();
    fs.rmSync(run.dir, { recursive: true, force: true });
  };
  try {
    await applyMigrations({ persistTo: run.persistTo, env: run.env, stdio });
    group = startWorkerChild("ferry (inspector off)", { config: path.join(ROOT, "wrangler.toml"), port, persist: run.persistTo, vars: allVars, envFile: run.envFile }, run.env, stdio);
    await waitForApi(apiUrl, { group, describe: () => tail(run.outputPath) });
  } catch (err) {
    await group?.stop();
    throw new Error(`${/** @type {Error} */ (err).message}\n[bench] logs kept in ${path.relative(ROOT, run.dir)}`, { cause: err });
  } finally {
    fs.closeSync(out);
  }
  return { apiUrl, adminToken: allVars.ADMIN_TOKEN, api: createApi(apiUrl), runDir: run.dir, pgid: findGroup(run.dir), stop };
}

/**
 * The no-op ceiling (bench/noop) under the same runtime.
 * @param {keyof typeof RUNTIMES} runtime
 * @returns {Promise<Noop>}
 */
export async function startNoop(runtime) {
  const run = runDirectory("noop");
  const out = fs.openSync(run.outputPath, "a");
  const stdio = /** @type {import("node:child_process").StdioOptions} */ (["ignore", out, out]);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/api/v1/events`;
  /** @type {import("../../scripts/lib/procs.mjs").Group} */
  let group;
  if (runtime === "dev") {
    const args = [WRANGLER, "dev", "--config", NOOP_CONFIG, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort())];
    args.push("--show-interactive-dev-session=false", "--persist-to", run.persistTo, "--env-file", run.envFile);
    group = spawnGroup("noop (wrangler dev)", process.execPath, args, { cwd: ROOT, env: run.env, stdio });
  } else {
    group = startWorkerChild("noop (inspector off)", { config: NOOP_CONFIG, port, persist: false, vars: {}, envFile: run.envFile }, run.env, stdio);
  }
  fs.closeSync(out);
  const stop = async () => {
    await group.stop();
    fs.rmSync(run.dir, { recursive: true, force: true });
  };
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
  return { url, pgid: findGroup(run.dir), stop };
}

/** A throwaway directory under .wrangler/bench with wrangler's env (private registry, logs kept out of the repo). */
function runDirectory(kind) {
  const dir = path.join(ROOT, ".wrangler/bench", `${kind}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`);
  const persistTo = path.join(dir, "persist");
  fs.mkdirSync(persistTo, { recursive: true });
  const envFile = path.join(dir, "empty.env");
  fs.writeFileSync(envFile, "");
  const env = wranglerEnv({ registryPath: path.join(dir, "registry"), logPath: path.join(dir, "logs") }, { FORCE_COLOR: "0", NO_COLOR: "1" });
  return { dir, persistTo, envFile, env, outputPath: path.join(dir, "output.log") };
}

/** @param {string} name @param {object} opts  see start-worker.mjs @param {NodeJS.ProcessEnv} env @param {import("node:child_process").StdioOptions} stdio */
function startWorkerChild(name, opts, env, stdio) {
  return spawnGroup(name, process.execPath, [START_WORKER, JSON.stringify(opts)], { cwd: ROOT, env, stdio });
}

/** @param {string} file */
function tail(file) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  return `--- last output (${path.relative(ROOT, file)}) ---\n${text.split("\n").slice(-40).join("\n")}`;
}
