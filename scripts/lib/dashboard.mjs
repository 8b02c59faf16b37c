// Runs the SvelteKit dashboard's `vite dev` against a given API, once the dashboard exists in the repo.
import fs from "node:fs";
import path from "node:path";
import { spawnGroup } from "./procs.mjs";
import { pollUntil } from "./wait.mjs";
import { ROOT } from "./wrangler.mjs";

/** @returns {boolean} whether `dashboard/src` exists (it is written in parallel with this harness) */
export function dashboardExists() {
  return fs.existsSync(path.join(ROOT, "dashboard/src"));
}

/**
 * `npm run dev -w dashboard -- --host 127.0.0.1 --port <port> --strictPort` with `API_URL` set.
 * Goes through the workspace script so the dashboard owns how it starts.
 * @param {{port: number, apiUrl: string, env: NodeJS.ProcessEnv, stdio?: import("node:child_process").StdioOptions}} opts
 *   `env` should carry the same WRANGLER_REGISTRY_PATH as the API worker, so getPlatformProxy finds it
 * @returns {import("./procs.mjs").Group}
 */
export function startDashboard({ port, apiUrl, env, stdio = "inherit" }) {
  const args = ["run", "dev", "-w", "dashboard", "--", "--host", "127.0.0.1", "--port", String(port), "--strictPort"];
  return spawnGroup("dashboard (vite dev)", "npm", args, { cwd: ROOT, env: { ...env, API_URL: apiUrl }, stdio });
}

/**
 * Wait until the dashboard answers HTTP at all: any status counts (a login redirect, even a 500 from a
 * half-written page), because the question is whether vite is serving, not whether the page is right.
 * @param {string} url
 * @param {{group?: import("./procs.mjs").Group, timeoutMs?: number, describe?: () => string}} [opts]
 */
export async function waitForDashboard(url, opts = {}) {
  await pollUntil(
    url,
    async () => {
      const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 500, ...opts },
  );
}
