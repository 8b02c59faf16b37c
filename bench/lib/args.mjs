// Command-line options for `npm run bench`: --quick, --only, --runtime, and the settings each mode implies.

export const SCENARIOS = ["ingest", "drain", "e2e", "isolation"];
export const RUNTIME_KEYS = ["noinsp", "dev"];

const FULL = {
  connections: 50,
  ingestSeconds: 15,
  warmupSeconds: 3,
  rounds: 3,
  e2eRates: [100, 300],
  /** Each rate is held this long (the "300/s for 60 s"); quick mode sends `e2eCount` events instead. */
  e2eSeconds: 60,
  e2eCount: null,
  isoRate: 10,
  isoSeconds: 60,
  quietMs: 30_000,
  e2eWaitMs: 180_000,
  isoWaitMs: 120_000,
  drainTimeoutMs: 180_000,
  drainCount: 2000,
  /** Events per sustained batch-ingest run (about 2.5 s at 8,000/s). */
  batchIngestCount: 20_000,
};

const QUICK = { ...FULL, ingestSeconds: 5, warmupSeconds: 2, e2eSeconds: null, e2eCount: 500, isoSeconds: 20, drainCount: 1000, batchIngestCount: 5000, quietMs: 20_000, e2eWaitMs: 90_000, isoWaitMs: 60_000, drainTimeoutMs: 90_000 };

const USAGE = `usage: npm run bench -- [--quick] [--only ${SCENARIOS.join(",")}] [--runtime ${RUNTIME_KEYS.join(",")}]
  --quick     shorter runs (ingest 3×5 s, drain N=1000, batch ingest 5,000 per round, e2e N=500 instead of 60 s per rate, isolation 20 s)
  --only      scenarios to run (default: all)
  --runtime   noinsp = unstable_startWorker with the inspector off, dev = npm run dev's runtime (scripts/lib/serve-worker.mjs)
              (default: noinsp for a full run, about 10 min; noinsp,dev with --quick; a full run of both is about 20 min)
  --worktree  benchmark the worker files as they are now (default: the committed code at git HEAD)
  --hang      isolation also runs a neighbour that never answers (each send waits for the 15 s timeout)
  --state-dir where local D1/DO state goes (default .wrangler/bench); e.g. /dev/shm/ferry-bench to leave out disk syncs`;

/** @param {string[]} argv */
export function parseArgs(argv) {
  /** @type {{quick: boolean, worktree: boolean, stateDir: string|null, hang: boolean, only: string[], runtimes: string[] | null}} */
  const opts = { quick: false, worktree: false, stateDir: /** @type {string|null} */ (null), hang: false, only: [...SCENARIOS], runtimes: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--quick") opts.quick = true;
    else if (flag === "--worktree") opts.worktree = true;
    else if (flag === "--state-dir") opts.stateDir = value();
    else if (flag === "--hang") opts.hang = true;
    else if (flag === "--only") opts.only = list(value(), SCENARIOS, flag);
    else if (flag === "--runtime" || flag === "--runtimes") opts.runtimes = list(value(), RUNTIME_KEYS, flag);
    else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown option ${argv[i]}`);
  }
  // The full run under both runtimes takes about 20 minutes on a 2-core box; to stay near 10 it defaults to
  // the inspector-off runtime (what TOOLCHAIN.md section 6 says benchmarks should use). --quick covers both.
  const runtimes = opts.runtimes ?? (opts.quick ? [...RUNTIME_KEYS] : ["noinsp"]);
  return { ...opts, runtimes, cfg: { ...(opts.quick ? QUICK : FULL), hang: opts.hang } };
}

/** @param {string} v @param {string[]} allowed @param {string} flag */
function list(v, allowed, flag) {
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item)) fail(`${flag}: unknown "${item}" (one of ${allowed.join(", ")})`);
  return items;
}

/** @param {string} msg @returns {never} */
function fail(msg) {
  console.error(`${msg}\n${USAGE}`);
  process.exit(2);
}
