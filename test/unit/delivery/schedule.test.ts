import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { retrySchedule } from "../../../workers/config";
import { JITTER, nextRetry, parseRetryAfter } from "../../../workers/delivery/schedule";

/** Standard Webhooks' recommendation: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
const STANDARD = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const noJitter = () => 0.5;

describe("the default schedule", () => {
  it("follows the Standard Webhooks recommendation when neither project nor deployment set one", () => {
    expect(retrySchedule(env, null)).toEqual(STANDARD);
  });

  it("a project's own schedule replaces it", () => {
    expect(retrySchedule(env, [1, 2, 3])).toEqual([1, 2, 3]);
  });

  it("walks each step in turn, then is exhausted: ten attempts in all", () => {
    const waits: number[] = [];
    let step = 0;
    for (;;) {
      const decision = nextRetry({ schedule: STANDARD, step, now: NOW, random: noJitter });
      if (decision.kind === "exhausted") break;
      expect(decision.step).toBe(step + 1);
      waits.push((decision.at - NOW) / 1000);
      step = decision.step;
    }
    expect(waits).toEqual(STANDARD);
    expect(step).toBe(9);
  });
});

describe("nextRetry", () => {
  it("jitters each wait by at most ±20 %", () => {
    expect(JITTER).toBe(0.2);
    const waitMs = (random: number) => {
      const decision = nextRetry({ schedule: STANDARD, step: 1, now: NOW, random: () => random });
      if (decision.kind !== "retry") throw new Error("expected a retry");
      expect(decision.step).toBe(2);
      return decision.at - NOW;
    };
    expect(waitMs(0)).toBe(240_000);
    expect(waitMs(0.25)).toBe(270_000);
    expect(waitMs(0.5)).toBe(300_000);
    expect(waitMs(0.999999)).toBeGreaterThan(359_999);
    expect(waitMs(0.999999)).toBeLessThanOrEqual(360_000);
  });

  it("stays inside the jitter bounds with the real random source", () => {
    for (let i = 0; i < 500; i++) {
      const decision = nextRetry({ schedule: STANDARD, step: 0, now: NOW });
      if (decision.kind !== "retry") throw new Error("expected a retry");
      expect(decision.at - NOW).toBeGreaterThanOrEqual(4000);
      expect(decision.at - NOW).toBeLessThanOrEqual(6000);
    }
  });

  it("honours Retry-After, without jitter, clamped to the schedule's smallest and largest step", () => {
    const schedule = [10, 60, 600];
    const wait = (retryAfterSeconds: number | null, step = 0) => {
      const decision = nextRetry({ schedule, step, now: NOW, retryAfterSeconds, random: () => 0 });
      return decision.kind === "retry" ? (decision.at - NOW) / 1000 : "exhausted";
    };
    expect(wait(120)).toBe(120);
    expect(wait(1)).toBe(10);
    expect(wait(0)).toBe(10);
    expect(wait(86_400)).toBe(600);
    expect(wait(null)).toBe(8);
    expect(wait(120, 2)).toBe(120);
    // Retry-After does not buy attempts beyond the schedule.
    expect(wait(120, 3)).toBe("exhausted");
  });

  it("counts a Retry-After answer as a step", () => {
    expect(nextRetry({ schedule: [10, 60], step: 0, now: NOW, retryAfterSeconds: 30 })).toEqual({ kind: "retry", at: NOW + 30_000, step: 1 });
  });

  it("is exhausted once every step is used, and for an empty schedule", () => {
    expect(nextRetry({ schedule: [1], step: 1, now: NOW })).toEqual({ kind: "exhausted" });
    expect(nextRetry({ schedule: [], step: 0, now: NOW })).toEqual({ kind: "exhausted" });
    expect(nextRetry({ schedule: STANDARD, step: 9, now: NOW })).toEqual({ kind: "exhausted" });
  });
});

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120", NOW)).toBe(120);
    expect(parseRetryAfter(" 7 ", NOW)).toBe(7);
    expect(parseRetryAfter("0", NOW)).toBe(0);
  });

  it("reads an HTTP date as seconds from now, and a past date as 0", () => {
    expect(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90);
    expect(parseRetryAfter(new Date(NOW - 90_000).toUTCString(), NOW)).toBe(0);
  });

  it("gives null when absent or unreadable", () => {
    expect(parseRetryAfter(null, NOW)).toBeNull();
    expect(parseRetryAfter("", NOW)).toBeNull();
    expect(parseRetryAfter("soon", NOW)).toBeNull();
  });
});
