/**
 * @module When to try again: a pure function of the schedule, the step reached, the outcome and the clock.
 *
 * Rules: the schedule lists seconds to wait after each failed attempt (Standard Webhooks' default:
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h). Each wait gets ±20 % jitter so retries of a
 * burst spread out. A `Retry-After` on 429/503 replaces the wait, clamped to the schedule's smallest
 * and largest step. When every step is used, the delivery has failed.
 */
export const JITTER = 0.2;

export type RetryDecision = { kind: "retry"; at: number; step: number } | { kind: "exhausted" };

export function nextRetry(input: {
  schedule: readonly number[];
  /** Steps already used since the last (re)send. */
  step: number;
  now: number;
  /** Seconds, from a 429/503 response. */
  retryAfterSeconds?: number | null;
  random?: () => number;
}): RetryDecision {
  const { schedule, step, now, retryAfterSeconds, random = Math.random } = input;
  if (step >= schedule.length) return { kind: "exhausted" };
  let delaySeconds: number;
  if (retryAfterSeconds != null && Number.isFinite(retryAfterSeconds)) {
    delaySeconds = Math.min(Math.max(retryAfterSeconds, Math.min(...schedule)), Math.max(...schedule));
  } else {
    delaySeconds = schedule[step] * (1 + (random() * 2 - 1) * JITTER);
  }
  return { kind: "retry", at: now + Math.round(delaySeconds * 1000), step: step + 1 };
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - now) / 1000);
}
