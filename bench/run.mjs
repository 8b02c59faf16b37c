// `npm run bench`: starts Ferry per runtime, runs the selected scenarios, prints a markdown report and saves it with raw JSON.
import fs from "node:fs";
import path from "node:path";
import { exitWithParent } from "../scripts/lib/procs.mjs";
import { startReceiver } from "../test/e2e/support/receiver.mjs";
import { parseArgs } from "./lib/args.mjs";
import { renderReport } from "./lib/report.mjs";
import { RUNTIMES, setStateDir, startFerry } from "./lib/runtimes.mjs";
import { snapshotSource } from "./lib/snapshot.mjs";
import { fmtLoad, loadAvg, machine } from "./lib/sysinfo.mjs";
import { drain } from "./scenarios/drain.mjs";
import { e2e } from "./scenarios/e2e.mjs";
import { ingest } from "./scenarios/ingest.mjs";
import { isolation } from "./scenarios/isolation.mjs";

/**
 * @typedef {object} Context
 * @property {keyof typeof RUNTIMES} runtime
 * @property {import("./lib/runtimes.mjs").Ferry} ferry
 * @property {import("../test/e2e/support/receiver.mjs").Receiver} receiver
 * @property {ReturnType<typeof parseArgs>["cfg"]} cfg
 * @property {(msg: string) => void} log
 */

const SCENARIO_FNS = { ingest, drain, e2e, isolation };
/** Every figure uses these worker vars (stack.mjs's defaults supply MAILCHANNELS_* pointing at a closed local port). */
const VARS = { ADMIN_TOKEN: "bench-admin-token", ALLOW_PRIVATE_NETWORK: "true", RETRY_SCHEDULE: "60" };

const opts = parseArgs(process.argv.slice(2));
if (opts.stateDir) setStateDir(opts.stateDir);
exitWithParent();
const t0 = Date.now();
const log = (msg) => console.error(`[bench +${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);

const results = {
  startedAt: new Date().toISOString(),
  mode: opts.quick ? "quick" : "full",
  stateDir: opts.stateDir ?? ".wrangler/bench (disk)",
  cfg: opts.cfg,
  vars: VARS,
  machine: machine(),
  loadAtStart: loadAvg(),
  runtimes: /** @type {Record<string, any>} */ ({}),
};
const RESULTS_DIR = path.join(import.meta.dirname, "results");
const stamp = results.startedAt.replace(/[:.]/g, "-");
const src = snapshotSource({ worktree: opts.worktree });
results.source = src.source;
log(`mode ${results.mode}, scenarios ${opts.only.join(",")}, runtimes ${opts.runtimes.join(",")}, source ${src.source}, load ${fmtLoad(results.loadAtStart)}`);

const receiver = await startReceiver();
try {
  for (const runtime of /** @type {(keyof typeof RUNTIMES)[]} */ (opts.runtimes)) {
    log(`starting Ferry under ${runtime}: ${RUNTIMES[runtime]}`);
    const out = (results.runtimes[runtime] = { label: RUNTIMES[runtime], scenarios: /** @type {Record<string, any>} */ ({}) });
    let ferry;
    try {
      ferry = await startFerry(runtime, src.dir, VARS);
    } catch (err) {
      log(`Ferry did not start under ${runtime}: ${/** @type {Error} */ (err).message}`);
      out.error = String(/** @type {Error} */ (err).message).split("\n")[0];
      continue;
    }
    try {
      for (const name of opts.only) {
        const started = Date.now();
        try {
          out.scenarios[name] = await SCENARIO_FNS[name]({ runtime, ferry, receiver, cfg: opts.cfg, log });
        } catch (err) {
          log(`${name} under ${runtime} failed: ${/** @type {Error} */ (err).stack}`);
          out.scenarios[name] = { error: String(/** @type {Error} */ (err).message) };
        }
        out.scenarios[name].seconds = Math.round((Date.now() - started) / 1000);
      }
    } finally {
      out.wranglerLogBytes = ferry.logBytes();
      // Keep what the worker printed (request log, QUEUE batch sizes and times, errors) next to the results.
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      fs.copyFileSync(ferry.outputPath, path.join(RESULTS_DIR, `${stamp}-${runtime}-worker.log`));
      await ferry.stop();
    }
  }
} finally {
  await receiver.close();
  src.remove();
}
results.finishedAt = new Date().toISOString();
results.totalSeconds = Math.round((Date.now() - t0) / 1000);

const markdown = renderReport(results);
fs.mkdirSync(RESULTS_DIR, { recursive: true });
fs.writeFileSync(path.join(RESULTS_DIR, `${stamp}.md`), markdown);
fs.writeFileSync(path.join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
console.log(markdown);
log(`done in ${results.totalSeconds} s; saved bench/results/${stamp}.{md,json} and the worker logs bench/results/${stamp}-<runtime>-worker.log`);
process.exit(0);
