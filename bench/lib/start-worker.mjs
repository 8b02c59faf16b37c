// Child process: runs one worker under wrangler's unstable_startWorker with the DevTools inspector off, until SIGTERM.
import wrangler from "wrangler";

/** @type {{config: string, port: number, persist: string|false, vars: Record<string,string>, envFile?: string, registry?: string}} */
const opts = JSON.parse(process.argv[2]);

const worker = await wrangler.unstable_startWorker({
  config: opts.config,
  envFiles: opts.envFile ? [opts.envFile] : undefined,
  bindings: Object.fromEntries(Object.entries(opts.vars).map(([k, v]) => [k, { type: "plain_text", value: String(v) }])),
  sendMetrics: false,
  dev: {
    inspector: false,
    server: { hostname: "127.0.0.1", port: opts.port },
    persist: opts.persist,
    watch: false,
    liveReload: false,
    testScheduled: true,
    enableContainers: false,
    ...(opts.registry && { registry: opts.registry }),
  },
});
await worker.ready;
console.log(`[start-worker] ready at ${await worker.url} (inspector off)`);

let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, async () => {
    if (stopping) return;
    stopping = true;
    await worker.dispose().catch(() => {});
    process.exit(0);
  });
}
