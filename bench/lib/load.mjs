// Closed-loop load: runs the autocannon CLI in its own process (so it does not share an event loop with the receiver).
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../scripts/lib/wrangler.mjs";

const AUTOCANNON = path.join(ROOT, "node_modules/autocannon/autocannon.js");

/**
 * @param {{url: string, connections: number, seconds: number, body: string, headers?: Record<string,string>}} opts
 * @returns {Promise<{rps: number, p50: number, p99: number, mean: number, completed: number, ok2xx: number, non2xx: number,
 *   errors: number, timeouts: number, statusCodes: Record<string, number>, seconds: number}>}
 */
export async function autocannon({ url, connections, seconds, body, headers = {} }) {
  const args = [AUTOCANNON, "-j", "-c", String(connections), "-d", String(seconds), "-m", "POST", "-b", body, "-H", "content-type=application/json"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`);
  args.push(url);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err.slice(-2000)}`);
  const r = JSON.parse(out);
  const completed = r["2xx"] + r.non2xx;
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
  return {
    rps: completed / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    mean: r.latency.average,
    completed,
    ok2xx: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    seconds: r.duration,
  };
}
