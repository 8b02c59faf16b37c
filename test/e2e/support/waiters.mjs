// Event-driven "wait until N things have arrived" for the test servers, so tests never poll.

/**
 * A set of pending waits that re-check their condition whenever `notify()` is called.
 * @returns {{notify: () => void, until: <T>(ready: () => T | undefined, timeoutMs: number, onTimeout: () => string) => Promise<T>}}
 */
export function waitList() {
  /** @type {Set<() => void>} */
  const checks = new Set();
  return {
    notify() {
      for (const check of [...checks]) check();
    },
    until(ready, timeoutMs, onTimeout) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          checks.delete(check);
          reject(new Error(onTimeout()));
        }, timeoutMs);
        const check = () => {
          const value = ready();
          if (value === undefined) return;
          clearTimeout(timer);
          checks.delete(check);
          resolve(value);
        };
        checks.add(check);
        check();
      });
    },
  };
}
