// Fires the worker's cron handler on a timer, because the local runtime never runs crons by itself.
const CRON_PATH = "/cdn-cgi/handler/scheduled?cron=*+*+*+*+*";

/**
 * Run the `scheduled` handler once through the route Miniflare exposes (`unsafeTriggerHandlers`).
 * @param {string} apiUrl
 * @returns {Promise<number>} the HTTP status (200 when the handler ran)
 */
export async function sweep(apiUrl) {
  const res = await fetch(`${apiUrl}${CRON_PATH}`, { signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${CRON_PATH} answered ${res.status}`);
  return res.status;
}

/**
 * Call {@link sweep} every `everyMs`; a tick is skipped while the previous one is still running.
 * @param {string} apiUrl
 * @param {number} everyMs
 * @param {{immediate?: boolean, onError?: (err: Error) => void}} [opts]
 * @returns {{stop: () => void}}
 */
export function startSweeper(apiUrl, everyMs, { immediate = false, onError = () => {} } = {}) {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await sweep(apiUrl);
    } catch (err) {
      onError(/** @type {Error} */ (err));
    } finally {
      busy = false;
    }
  };
  if (immediate) void tick();
  const timer = setInterval(tick, everyMs);
  // Never the reason a test process stays alive.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
