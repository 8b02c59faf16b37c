// Runs the API worker locally: D1 migrations (wrangler), the worker on workerd, then a readiness check that knows it is ours.
import path from "node:path";
import { spawnGroup } from "./procs.mjs";
import { pollUntil } from "./wait.mjs";

export const ROOT = path.resolve(import.meta.dirname, "../..");
// The local bin directly rather than `npx wrangler`: same package, one npm process fewer per start.
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const SERVE_WORKER = path.join(import.meta.dirname, "serve-worker.mjs");
export const SERVICE_NAME = "ferry-api";

/**
 * Environment for every wrangler we spawn: no telemetry, no network fetch of request.cf, a private dev
 * registry (so a same-named worker from another checkout cannot answer service bindings) and logs kept
 * under `.wrangler/`.
 * @param {{registryPath: string, logPath: string}} paths
 * @param {Record<string,string>} [extra]
 * @returns {NodeJS.ProcessEnv}
 */
export function wranglerEnv({ registryPath, logPath }, extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_REGISTRY_PATH: registryPath,
    WRANGLER_LOG_PATH: logPath,
    ...extra,
  };
}

/**
 * `wrangler d1 migrations apply DB --local --persist-to <dir>`; CI=true makes it auto-confirm.
 * @param {{persistTo: string, env: NodeJS.ProcessEnv, stdio?: import("node:child_process").StdioOptions}} opts
 * @returns {Promise<void>} rejects when wrangler exits non-zero
 */
export async function applyMigrations({ persistTo, env, stdio = "inherit" }) {
  const args = [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo];
  const group = spawnGroup("d1 migrations", process.execPath, args, { cwd: ROOT, env: { ...env, CI: "true" }, stdio });
  const code = await group.exited;
  await group.stop(2000);
  if (code !== 0) throw new Error(`wrangler d1 migrations apply exited with ${code}`);
}

/**
 * @typedef {object} WorkerServeOptions  what scripts/lib/serve-worker.mjs takes
 * @property {string} config  path of wrangler.toml
 * @property {string} name  the worker's name in the dev registry
 * @property {number} port
 * @property {number} [inspectorPort]  the DevTools inspector, only when asked for (it relays every subrequest)
 * @property {string} persistTo
 * @property {string} registryPath
 * @property {string} [envFile]  read like `.dev.vars`
 * @property {Record<string, string>} vars  override [vars] and the env file
 * @property {boolean} [watch]  rebuild and reload when a source file changes
 * @property {string} [outdir]  where the bundle goes (default .wrangler/serve/<port>)
 */

/**
 * Serve the API worker on workerd, with requests reaching the worker directly (see serve-worker.mjs for why
 * not `wrangler dev`).
 * @param {object} opts
 * @param {number} opts.port
 * @param {number} [opts.inspectorPort]
 * @param {string} opts.persistTo
 * @param {Record<string, string|number|boolean>} [opts.vars]  override wrangler.toml [vars] and the env file
 * @param {string} [opts.envFile]  default `.dev.vars` in the checkout
 * @param {boolean} [opts.watch]
 * @param {string} [opts.outdir]
 * @param {NodeJS.ProcessEnv} opts.env  its WRANGLER_REGISTRY_PATH is where the worker registers itself
 * @param {import("node:child_process").StdioOptions} [opts.stdio]
 * @returns {import("./procs.mjs").Group}
 */
export function startWorker({ port, inspectorPort, persistTo, vars = {}, envFile, watch, outdir, env, stdio = "inherit" }) {
  /** @type {WorkerServeOptions} */
  const serve = {
    config: path.join(ROOT, "wrangler.toml"),
    name: SERVICE_NAME,
    port,
    inspectorPort,
    persistTo,
    registryPath: String(env.WRANGLER_REGISTRY_PATH),
    envFile: envFile ?? path.join(ROOT, ".dev.vars"),
    vars: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])),
    watch,
    outdir,
  };
  return spawnGroup("ferry worker (workerd)", process.execPath, [SERVE_WORKER, JSON.stringify(serve)], { cwd: ROOT, env, stdio });
}

/**
 * Wait until `POST /healthz` answers `{ok: true, service: "ferry-api"}`. A POST, because a proxy in front of a
 * worker may retry GETs by itself and so look ready while a POST would still fail; the name check matters
 * because another checkout may have a worker on a port we thought was ours.
 * @param {string} apiUrl
 * @param {{group?: import("./procs.mjs").Group, timeoutMs?: number, describe?: () => string}} [opts]
 */
export async function waitForApi(apiUrl, opts = {}) {
  await pollUntil(
    `POST ${apiUrl}/healthz`,
    async () => {
      const res = await fetch(`${apiUrl}/healthz`, { method: "POST", signal: AbortSignal.timeout(5000) });
      const body = await res.json().catch(() => null);
      if (res.ok && body?.ok === true && body.service !== SERVICE_NAME) {
        throw new Error(`port answered as service ${JSON.stringify(body.service)}, not ${SERVICE_NAME}`);
      }
      return res.ok && body?.ok === true && body.service === SERVICE_NAME;
    },
    { timeoutMs: 90_000, ...opts },
  );
}
