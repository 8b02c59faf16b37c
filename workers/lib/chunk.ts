/**
 * @module Splitting a list into parts: D1 binds at most 100 parameters per statement and a queue's
 * `sendBatch` takes at most 100 messages, so `IN (…)` lists and sends go in chunks under those limits.
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
