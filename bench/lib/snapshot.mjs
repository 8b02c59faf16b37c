// Freezes the worker source for the whole run (git HEAD, or the working tree), so concurrent edits cannot reload the worker mid-run.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/lib/wrangler.mjs";

/** What the API worker is built from; node_modules is found by walking up from the snapshot (it lives under ROOT). */
const SOURCES = ["workers", "bench/counted", "migrations", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"];
/** The bench builds Ferry from its counting entry (bench/counted/worker.ts), which wraps the real handlers' bindings. */
const COUNTED_MAIN = "bench/counted/worker.ts";

/**
 * Copy the worker source into `.wrangler/bench/src-<id>`.
 * Why: `wrangler dev` and startWorker rebuild and restart the worker when a watched file changes; with others
 * editing `workers/` in this checkout, a restart mid-run answers in-flight requests 503 "Your worker restarted mid-request".
 * @param {{worktree: boolean}} opts  false: `git archive HEAD` (committed code only); true: the files as they are now
 * @returns {{dir: string, source: string, remove: () => void}}
 */
export function snapshotSource({ worktree }) {
  const dir = path.join(ROOT, ".wrangler/bench", `src-${Date.now().toString(36)}`);
  fs.mkdirSync(dir, { recursive: true });
  const git = (...args) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  const commit = git("rev-parse", "--short", "HEAD");
  let source;
  if (worktree) {
    for (const item of SOURCES) fs.cpSync(path.join(ROOT, item), path.join(dir, item), { recursive: true });
    const dirty = git("status", "--porcelain", "--", ...SOURCES);
    source = `working tree at ${commit}${dirty ? ` with uncommitted changes to ${dirty.split("\n").length} file(s)` : ""}`;
  } else {
    execFileSync("sh", ["-c", `git archive HEAD -- ${SOURCES.join(" ")} | tar -x -C "${dir}"`], { cwd: ROOT });
    source = `git HEAD ${commit}`;
  }
  const toml = path.join(dir, "wrangler.toml");
  const config = fs.readFileSync(toml, "utf8");
  if (!/^main = "workers\/index.ts"$/m.test(config)) throw new Error("wrangler.toml: expected main = \"workers/index.ts\"");
  fs.writeFileSync(toml, config.replace(/^main = "workers\/index.ts"$/m, `main = "${COUNTED_MAIN}"`));
  return { dir, source: `${source}, built from ${COUNTED_MAIN}`, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
