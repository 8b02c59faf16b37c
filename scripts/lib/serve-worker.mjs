// Runs the API worker straight on workerd through Miniflare, as `wrangler dev` would but without its proxy hop.
//
// Why not `wrangler dev`: it puts a ProxyWorker (a second workerd) in front of the worker and reuses pooled
// keep-alive connections to it, while workerd closes a connection after 5 s idle. A request sent into a
// connection that is closing fails; the proxy retries GET and HEAD but answers any other method
// "503 Your worker restarted mid-request" (workers-sdk#14641). The first POST 5 s after the readiness GET
// hit this about one CI run in three. The same proxy (and its DevTools inspector relay) ran out of timers
// and sockets under load. Here requests reach the worker's own socket, as they do in production.
//
// Usage: node scripts/lib/serve-worker.mjs '<json options>' (see WorkerServeOptions in wrangler.mjs).
import fs from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
import * as esbuild from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

/** @type {import("./wrangler.mjs").WorkerServeOptions} */
const options = JSON.parse(process.argv[2] ?? "{}");
const configPath = path.resolve(options.config);
const root = path.dirname(configPath);
const outdir = path.resolve(options.outdir ?? path.join(root, ".wrangler/serve", String(options.port)));

const { workerOptions, main } = unstable_getMiniflareWorkerOptions(configPath, undefined, {});
if (!main) throw new Error(`${configPath} names no main module`);

/** Same precedence as wrangler: [vars] in the config, then the env file (`.dev.vars`), then explicit vars. */
function bindings() {
  const fromFile = options.envFile && fs.existsSync(options.envFile) ? parseEnv(fs.readFileSync(options.envFile, "utf8")) : {};
  return { ...workerOptions.bindings, ...fromFile, ...options.vars };
}

/** @param {string} scriptPath @returns {import("miniflare").MiniflareOptions} */
function miniflareOptions(scriptPath) {
  return {
    host: "127.0.0.1",
    port: options.port,
    inspectorPort: options.inspectorPort,
    // The same layout as `wrangler dev --persist-to` and `wrangler d1 migrations apply --persist-to`.
    defaultPersistRoot: path.join(path.resolve(options.persistTo), "v3"),
    // The dashboard's platform proxy finds this worker's service binding through the registry.
    unsafeDevRegistryPath: options.registryPath,
    // Exposes /cdn-cgi/handler/scheduled, which the local sweeper timer calls (local runtimes fire no crons).
    unsafeTriggerHandlers: true,
    log: new Log(LogLevel.INFO, { prefix: "ferry" }),
    workers: [
      {
        ...workerOptions,
        name: options.name,
        bindings: bindings(),
        modules: true,
        modulesRoot: outdir,
        scriptPath,
      },
    ],
  };
}

/** @type {Miniflare | undefined} */
let mf;
let built = 0;
const context = await esbuild.context({
  entryPoints: [path.resolve(root, main)],
  outdir,
  bundle: true,
  format: "esm",
  target: "es2024",
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["browser", "module", "main"],
  // workerd provides these (nodejs_compat for node:*).
  external: ["cloudflare:*", "node:*"],
  sourcemap: true,
  logLevel: "warning",
  plugins: [
    {
      name: "reload-miniflare",
      setup(build) {
        build.onEnd(async (result) => {
          if (result.errors.length > 0) return;
          const scriptPath = path.join(outdir, `${path.parse(main).name}.js`);
          if (!mf) {
            mf = new Miniflare(miniflareOptions(scriptPath));
            const url = await mf.ready;
            console.log(`[serve] ${options.name} ready on ${url.origin} (workerd via Miniflare, no dev proxy)`);
          } else {
            await mf.setOptions(miniflareOptions(scriptPath));
            console.log(`[serve] rebuilt and reloaded (${++built})`);
          }
        });
      },
    },
  ],
});

if (options.watch) await context.watch();
else {
  await context.rebuild();
  await context.dispose();
}

let stopping = false;
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await context.dispose().catch(() => {});
    await mf?.dispose().catch(() => {});
    process.exit(0);
  });
}
