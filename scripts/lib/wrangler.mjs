// Runs the API worker locally: D1 migrations, then `wrangler dev`, then a health check that knows it is ours.
import path from "node:path";
import { spawnGroup } from "./procs.mjs";
import { pollUntil } from "./wait.mjs";

export const ROOT = path.resolve(import.meta.dirname, "../..");
// The local bin directly rather than `npx wrangler`: same package, one npm process fewer per start.
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
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
 * Start `wrangler dev` for the API worker.
 * @param {object} opts
 * @param {number} opts.port
 * @param {number} [opts.inspectorPort]  omitted: wrangler picks its default (9229 or the next free one)
 * @param {string} opts.persistTo
 * @param {Record<string, string|number|boolean>} [opts.vars]  each becomes `--var KEY:VALUE` (overrides wrangler.toml [vars])
 * @param {string} [opts.envFile]  when set, `.dev.vars` is not read at all (wrangler skips it once an env file is given)
 * @param {NodeJS.ProcessEnv} opts.env
 * @param {import("node:child_process").StdioOptions} [opts.stdio]
 * @returns {import("./procs.mjs").Group}
 */
export function startWorker({ port, inspectorPort, persistTo, vars = {}, envFile, env, stdio = "inherit" }) {
  const args = [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistTo];
  args.push("--show-interactive-dev-session=false", "--test-scheduled");
  if (inspectorPort) args.push("--inspector-port", String(inspectorPort));
  if (envFile) args.push("--env-file", envFile);
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  return spawnGroup("wrangler dev", process.execPath, args, { cwd: ROOT, env, stdio });
}

/**
 * Wait until `GET /healthz` answers `{ok: true, service: "ferry-api"}`; the name check matters because
 * another checkout may have a worker on a port we thought was ours.
 * @param {string} apiUrl
 * @param {{group?: import("./procs.mjs").Group, timeoutMs?: number, describe?: () => string}} [opts]
 */
export async function waitForApi(apiUrl, opts = {}) {
  await pollUntil(
    `${apiUrl}/healthz`,
    async () => {
      const res = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
      const body = await res.json().catch(() => null);
      if (res.ok && body?.ok === true && body.service !== SERVICE_NAME) {
        throw new Error(`port answered as service ${JSON.stringify(body.service)}, not ${SERVICE_NAME}`);
      }
      return res.ok && body?.ok === true && body.service === SERVICE_NAME;
    },
    { timeoutMs: 90_000, ...opts },
  );
}
