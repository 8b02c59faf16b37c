import { describe, expect, it } from "vitest";
import { BASE_COOLDOWN_MS, HEALTHY, MAX_COOLDOWN_MS, PROBE_LEASE_MS, applyOutcome, holdWork, permitSend, type HealthState, type Outcome } from "../../../workers/endpoint-health/policy";

const policy = { circuitOpenAfter: 3, disableAfter: 5, disableAfterSeconds: 3600 };
const fail = (at: number, extra: Partial<Outcome> = {}): Outcome => ({ ok: false, statusCode: 500, error: "HTTP 500", responseExcerpt: "boom", gone: false, at, durationMs: 20, ...extra });
const success = (at: number): Outcome => ({ ok: true, statusCode: 200, error: null, responseExcerpt: "ok", gone: false, at, durationMs: 20 });

function failTimes(state: HealthState, times: number, start: number, step = 1000) {
  let effects = { circuitOpened: false, disableReason: null as string | null };
  const opened: number[] = [];
  for (let i = 0; i < times; i++) {
    ({ state, effects } = applyOutcome(state, fail(start + i * step), policy));
    if (effects.circuitOpened) opened.push(i + 1);
  }
  return { state, effects, opened };
}

describe("failure streak", () => {
  it("counts consecutive failures from the first one and resets on a success", () => {
    const { state } = failTimes(HEALTHY, 2, 10_000);
    expect(state.consecutiveFailures).toBe(2);
    expect(state.failingSince).toBe(10_000);
    expect(state.lastStatusCode).toBe(500);
    expect(state.lastResponseExcerpt).toBe("boom");
    const healed = applyOutcome(state, success(20_000), policy).state;
    expect(healed).toMatchObject({ consecutiveFailures: 0, failingSince: null, lastSuccessAt: 20_000, circuit: "closed" });
  });
});

describe("circuit breaker", () => {
  it("opens after circuitOpenAfter failures, once", () => {
    const { state, opened } = failTimes(HEALTHY, 4, 0);
    expect(opened).toEqual([3]);
    expect(state.circuit).toBe("open");
    expect(state.openedAt).toBe(2000);
  });

  it("holds sends back until the cool-down passes, then lets exactly one probe through", () => {
    const open = failTimes(HEALTHY, 3, 0).state;
    const early = permitSend(open, { now: 2000 + BASE_COOLDOWN_MS - 1, rateLimitPerSecond: null });
    expect(early.permit).toEqual({ allow: false, reason: "circuit_open", hold: true });
    expect(early.state.heldSince).toBe(2000 + BASE_COOLDOWN_MS - 1);

    const probeTime = 2000 + BASE_COOLDOWN_MS;
    const probe = permitSend(open, { now: probeTime, rateLimitPerSecond: null });
    expect(probe.permit).toEqual({ allow: true, probe: true, slow: false });
    expect(probe.state.circuit).toBe("half_open");

    const second = permitSend(probe.state, { now: probeTime + 10, rateLimitPerSecond: null });
    expect(second.permit).toEqual({ allow: false, reason: "circuit_open", hold: true });
    // A probe whose outcome never arrives frees the circuit when its lease lapses.
    expect(permitSend(probe.state, { now: probeTime + PROBE_LEASE_MS + 1, rateLimitPerSecond: null }).permit).toEqual({ allow: true, probe: true, slow: false });
  });

  it("a failed probe re-opens with a doubled cool-down, capped at 15 minutes", () => {
    let state = failTimes(HEALTHY, 3, 0).state;
    const cooldowns: number[] = [];
    for (let i = 0; i < 6; i++) {
      const now = state.openedAt! + state.cooldownMs;
      state = permitSend(state, { now, rateLimitPerSecond: null }).state;
      state = applyOutcome(state, fail(now + 5), policy).state;
      cooldowns.push(state.cooldownMs);
    }
    expect(cooldowns).toEqual([120_000, 240_000, 480_000, MAX_COOLDOWN_MS, MAX_COOLDOWN_MS, MAX_COOLDOWN_MS]);
    expect(state.circuit).toBe("open");
  });

  it("a successful probe closes the circuit and resets the streak and cool-down", () => {
    let state = failTimes(HEALTHY, 3, 0).state;
    state = permitSend(state, { now: 2000 + BASE_COOLDOWN_MS, rateLimitPerSecond: null }).state;
    state = applyOutcome(state, success(2000 + BASE_COOLDOWN_MS + 50), policy).state;
    expect(state).toMatchObject({ circuit: "closed", consecutiveFailures: 0, cooldownMs: BASE_COOLDOWN_MS, probeUntil: null });
    expect(permitSend(state, { now: 2000 + BASE_COOLDOWN_MS + 60, rateLimitPerSecond: null }).permit).toEqual({ allow: true, probe: false, slow: false });
  });
});

describe("auto-disable", () => {
  it("needs both the failure count and a streak older than disableAfterSeconds", () => {
    const quick = failTimes(HEALTHY, 10, 0, 1000);
    expect(quick.effects.disableReason).toBeNull();
    const { state } = failTimes(HEALTHY, 4, 0, 1000);
    const late = applyOutcome(state, fail(3_600_000), policy);
    expect(late.state.consecutiveFailures).toBe(5);
    expect(late.effects.disableReason).toMatch(/^5 consecutive failed attempts since 1970-01-01T00:00:00.000Z/);
    const justBefore = applyOutcome(state, fail(3_599_999), policy);
    expect(justBefore.effects.disableReason).toBeNull();
  });

  it("disables at once on 410 Gone", () => {
    const { effects } = applyOutcome(HEALTHY, fail(5, { statusCode: 410, gone: true }), policy);
    expect(effects.disableReason).toMatch(/410 Gone/);
  });
});

describe("token bucket as a next free slot", () => {
  it("allows a second's worth of sends, then gives each refused send a slot of its own, the slots advancing at the rate", () => {
    let state: HealthState = HEALTHY;
    const permits = [];
    for (let i = 0; i < 6; i++) {
      const result = permitSend(state, { now: 1000, rateLimitPerSecond: 4 });
      state = result.state;
      permits.push(result.permit);
    }
    expect(permits.slice(0, 4).every((p) => p.allow)).toBe(true);
    expect(permits.slice(4)).toEqual([
      { allow: false, reason: "rate_limited", retryAt: 1250 },
      { allow: false, reason: "rate_limited", retryAt: 1500 },
    ]);
    // A new send at 1250 finds the slots taken and is given the next one; the one that holds 1250 goes.
    expect(permitSend(state, { now: 1250, rateLimitPerSecond: 4 }).permit).toEqual({ allow: false, reason: "rate_limited", retryAt: 1750 });
    expect(permitSend(state, { now: 1250, rateLimitPerSecond: 4, reservedSlot: 1250 })).toEqual({ state, permit: { allow: true, probe: false, slow: false } });
    // Back well before its slot (a duplicate message): the same slot again, nothing new reserved.
    expect(permitSend(state, { now: 100, rateLimitPerSecond: 4, reservedSlot: 1500 })).toEqual({ state, permit: { allow: false, reason: "rate_limited", retryAt: 1500 } });
  });

  it("a backlog of 1,000 at 10/s is given 990 distinct slots over 99 s, each refused once", () => {
    let state: HealthState = HEALTHY;
    const slots: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const result = permitSend(state, { now: 0, rateLimitPerSecond: 10 });
      state = result.state;
      if (!result.permit.allow && result.permit.reason === "rate_limited") slots.push(result.permit.retryAt);
    }
    expect(slots).toHaveLength(990);
    expect(new Set(slots).size).toBe(990);
    expect(slots.at(-1)).toBe(99_000);
    for (const slot of slots) expect(permitSend(state, { now: slot, rateLimitPerSecond: 10, reservedSlot: slot }).permit.allow).toBe(true);
  });

  it("is not consumed while the circuit holds sends back", () => {
    const open = failTimes(HEALTHY, 3, 0).state;
    const held = permitSend({ ...open, nextSlotAt: 1500 }, { now: 2001, rateLimitPerSecond: 1 });
    expect(held.permit.allow).toBe(false);
    expect(held.state.nextSlotAt).toBe(1500);
  });
});

describe("held deliveries", () => {
  it("let one probe candidate out when the cool-down ends, again only after a probe lease, and all once the circuit closes", () => {
    let state = failTimes(HEALTHY, 3, 0).state;
    const reopen = 2000 + BASE_COOLDOWN_MS;
    expect(holdWork(state, reopen)).toEqual({ kind: "none" });
    state = permitSend(state, { now: 3000, rateLimitPerSecond: null }).state;
    expect(holdWork(state, 3000)).toEqual({ kind: "wait", until: reopen });
    expect(holdWork(state, reopen)).toEqual({ kind: "release_candidate" });
    state = { ...state, probeCandidateAt: reopen };
    expect(holdWork(state, reopen + 1)).toEqual({ kind: "wait", until: reopen + PROBE_LEASE_MS });
    // The candidate arrives and becomes the probe; a failure re-opens with a doubled cool-down.
    state = permitSend(state, { now: reopen + 500, rateLimitPerSecond: null }).state;
    expect(state.circuit).toBe("half_open");
    state = applyOutcome(state, fail(reopen + 600), policy).state;
    expect(holdWork(state, reopen + 700)).toEqual({ kind: "wait", until: reopen + 600 + 2 * BASE_COOLDOWN_MS });
    // The next probe succeeds: everything held goes.
    state = permitSend(state, { now: reopen + 600 + 2 * BASE_COOLDOWN_MS, rateLimitPerSecond: null }).state;
    const closed = applyOutcome(state, success(reopen + 700 + 2 * BASE_COOLDOWN_MS), policy);
    expect(closed.effects.circuitClosed).toBe(true);
    expect(holdWork(closed.state, reopen + 800 + 2 * BASE_COOLDOWN_MS)).toEqual({ kind: "release_all" });
  });
});

describe("slow endpoints", () => {
  it("an attempt of 2 s or more marks the endpoint slow until a quicker attempt", () => {
    let { state } = applyOutcome(HEALTHY, { ...success(1000), durationMs: 2000 }, policy);
    expect(permitSend(state, { now: 2000, rateLimitPerSecond: null }).permit).toEqual({ allow: true, probe: false, slow: true });
    ({ state } = applyOutcome(state, fail(3000, { durationMs: 15_000, error: "timed out after 15000 ms" }), policy));
    expect(state.slow).toBe(true);
    ({ state } = applyOutcome(state, { ...success(4000), durationMs: 1999 }, policy));
    expect(state.slow).toBe(false);
  });
});

describe("handing over to the slow lane", () => {
  it("spends neither a token nor the half-open probe; the lane's own request does", () => {
    const slowAndOpen = { ...failTimes(HEALTHY, 3, 0).state, slow: true };
    const reopen = 2000 + BASE_COOLDOWN_MS;
    const handOver = permitSend({ ...slowAndOpen, nextSlotAt: null }, { now: reopen, rateLimitPerSecond: 1 });
    expect(handOver.permit).toEqual({ allow: true, probe: false, slow: true });
    expect(handOver.state).toMatchObject({ circuit: "open", probeUntil: null, nextSlotAt: null });
    const lane = permitSend(handOver.state, { now: reopen, rateLimitPerSecond: 1, inSlowLane: true });
    expect(lane.permit).toEqual({ allow: true, probe: true, slow: true });
    expect(lane.state).toMatchObject({ circuit: "half_open", nextSlotAt: reopen + 1000 });
  });

  it("still holds sends back while the circuit cools down", () => {
    const slowAndOpen = { ...failTimes(HEALTHY, 3, 0).state, slow: true };
    expect(permitSend(slowAndOpen, { now: 3000, rateLimitPerSecond: null }).permit.allow).toBe(false);
  });
});
