// Reads the consumer's batches from what wrangler printed ("QUEUE ferry-deliveries 50/50 (2266ms)") between two points in a run.
import fs from "node:fs";
import { median, percentile } from "./stats.mjs";

const QUEUE_LINE = /QUEUE \S+ (\d+)\/(\d+) \((\d+)ms\)/;

/**
 * Mark the current end of the worker's output; the returned function summarises the queue batches logged since.
 * Each line is one consumer invocation: messages acked / batch size, and its duration until workerd reported it done.
 * @param {string} outputPath
 */
export function queueBatchesSince(outputPath) {
  const start = size(outputPath);
  return () => {
    const end = size(outputPath);
    if (end <= start) return { batches: 0 };
    const fd = fs.openSync(outputPath, "r");
    const buf = Buffer.alloc(end - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    fs.closeSync(fd);
    const sizes = [];
    const durations = [];
    for (const line of buf.toString("utf8").split("\n")) {
      const m = QUEUE_LINE.exec(line);
      if (!m) continue;
      sizes.push(Number(m[2]));
      durations.push(Number(m[3]));
    }
    return {
      batches: durations.length,
      messages: sizes.reduce((a, b) => a + b, 0),
      medianSize: median(sizes),
      durationMs: { p50: median(durations), p90: percentile(durations, 90), max: durations.length ? Math.max(...durations) : null },
    };
  };
}

/** @param {string} file */
function size(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
