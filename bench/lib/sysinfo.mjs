// What the machine looked like: load average before each run, CPU count, versions, git commit.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../../scripts/lib/wrangler.mjs";

/** The 1/5/15-minute load averages, rounded, e.g. `[2.93, 3.09, 1.89]`. */
export function loadAvg() {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/** @param {number[]} la */
export function fmtLoad(la) {
  return la.map((x) => x.toFixed(2)).join(", ");
}

export function machine() {
  const pkg = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return null;
    }
  };
  let commit = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    wrangler: pkg("wrangler"),
    workerd: pkg("workerd"),
    miniflare: pkg("miniflare"),
    autocannon: pkg("autocannon"),
    commit,
  };
}
