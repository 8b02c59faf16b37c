// Polls a check until it succeeds, failing early when the process that should answer has died.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Call `check` until it returns a truthy value, which is returned.
 * @template T
 * @param {string} what  what we wait for, for the timeout message
 * @param {() => Promise<T | undefined | null | false>} check  may throw; a throw counts as "not yet"
 * @param {{timeoutMs?: number, intervalMs?: number, group?: import("./procs.mjs").Group, describe?: () => string}} [opts]
 *   `group`: stop waiting as soon as that process group's leader exits; `describe`: extra text (a log tail) for errors
 * @returns {Promise<T>}
 */
export async function pollUntil(what, check, { timeoutMs = 60_000, intervalMs = 250, group, describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  let lastError = "";
  group?.exited.then(() => (exited = true));
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = String(/** @type {Error} */ (err)?.cause ?? err);
    }
    const why = exited ? `${group?.name} exited` : Date.now() > deadline ? `timed out after ${timeoutMs} ms` : "";
    if (why) {
      const extra = describe ? `\n${describe()}` : "";
      throw new Error(`waiting for ${what}: ${why}${lastError ? ` (last error: ${lastError})` : ""}${extra}`);
    }
    await sleep(intervalMs);
  }
}
