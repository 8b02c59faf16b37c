/**
 * @module Endpoint health rules as pure functions over the DO's state: the circuit breaker, the token
 * bucket and the auto-disable decision.
 *
 * Rules:
 * - After `circuitOpenAfter` consecutive failures the circuit opens: sends are held (no attempt used, no
 *   queue message) until a cool-down passes (60 s, doubling after each failed probe, up to 15 min). Then one
 *   probe goes through (half-open) while the rest stay held; a success closes the circuit, resets the streak
 *   and releases the held deliveries, a failure re-opens it and they keep waiting.
 * - The endpoint is disabled when the streak reaches `disableAfter` failures *and* is older than
 *   `disableAfterSeconds`, or at once when it answers 410 Gone.
 * - `rateLimitPerSecond` is a token bucket holding one second of sends, kept as the time of its next free
 *   slot (GCRA). A send over it is given a slot of its own and the slot time advances, so a backlog of B
 *   deliveries comes back once each, spread at the rate, instead of bouncing every second; it waits, never fails.
 * - An endpoint whose last attempt took `SLOW_SEND_MS` or more is slow: its sends go through the slow lane
 *   (the DO's alarm) rather than the queue consumer, so they cannot hold a batch of other endpoints' sends.
 */
export const BASE_COOLDOWN_MS = 60_000;
export const MAX_COOLDOWN_MS = 15 * 60_000;
/** Longer than a send can take (30 s timeout + bookkeeping), so a lost probe frees the circuit again. */
export const PROBE_LEASE_MS = 90_000;
const SLOW_SEND_MS = 2_000;

export type CircuitState = "closed" | "open" | "half_open";

export type HealthState = {
  consecutiveFailures: number;
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponseExcerpt: string | null;
  slow: boolean;
  circuit: CircuitState;
  openedAt: number | null;
  cooldownMs: number;
  probeUntil: number | null;
  /** The rate limit's next free slot: sends before it are over the limit by (slot - now) / interval sends. */
  nextSlotAt: number | null;
  /** Since when deliveries are held behind the circuit (null: none are known to be). */
  heldSince: number | null;
  /** When a held delivery was last let out to become the probe. */
  probeCandidateAt: number | null;
};

export const HEALTHY: HealthState = {
  consecutiveFailures: 0,
  failingSince: null,
  lastSuccessAt: null,
  lastFailureAt: null,
  lastStatusCode: null,
  lastError: null,
  lastResponseExcerpt: null,
  slow: false,
  circuit: "closed",
  openedAt: null,
  cooldownMs: BASE_COOLDOWN_MS,
  probeUntil: null,
  nextSlotAt: null,
  heldSince: null,
  probeCandidateAt: null,
};

/**
 * `hold`: wait, without a queue message, for the probe's outcome (the DO releases it). `rate_limited`:
 * come back at `retryAt`, a slot reserved for this delivery alone.
 */
export type SendPermit =
  | { allow: true; probe: boolean; slow: boolean }
  | { allow: false; reason: "circuit_open"; hold: true }
  | { allow: false; reason: "rate_limited"; retryAt: number };

/** A reserved slot is honoured this much before its time: queue delays are whole seconds. */
const SLOT_EARLY_TOLERANCE_MS = 1_000;

export function permitSend(
  state: HealthState,
  input: {
    now: number;
    rateLimitPerSecond: number | null;
    inSlowLane?: boolean;
    /** The slot this delivery was given when it was last refused by the rate limit, if any. */
    reservedSlot?: number | null;
  },
): { state: HealthState; permit: SendPermit } {
  const { now, rateLimitPerSecond, inSlowLane = false, reservedSlot = null } = input;
  const hold = { state: { ...state, heldSince: state.heldSince ?? now }, permit: { allow: false, reason: "circuit_open", hold: true } } as const;
  if (state.circuit === "open" && now < state.openedAt! + state.cooldownMs) return hold;
  // The slow lane asks again before it sends: handing over spends neither a slot nor the half-open probe.
  if (state.slow && !inSlowLane) return { state, permit: { allow: true, probe: false, slow: true } };
  let probe = false;
  if (state.circuit !== "closed") {
    if (state.probeUntil !== null && state.probeUntil > now) return hold;
    probe = true;
  }

  let next = state;
  if (rateLimitPerSecond && !(reservedSlot !== null && now >= reservedSlot - SLOT_EARLY_TOLERANCE_MS)) {
    const interval = 1000 / rateLimitPerSecond;
    // A second's worth of sends may go at once: a send conforms while the next free slot is within a second.
    const burst = 1000 - interval;
    const slot = Math.max(state.nextSlotAt ?? now, now);
    if (reservedSlot !== null) {
      // Came back early (a duplicate message): its slot still stands.
      return { state, permit: { allow: false, reason: "rate_limited", retryAt: reservedSlot } };
    }
    next = { ...next, nextSlotAt: slot + interval };
    if (slot - now > burst) return { state: next, permit: { allow: false, reason: "rate_limited", retryAt: Math.ceil(slot - burst) } };
  }
  if (probe) next = { ...next, circuit: "half_open", probeUntil: now + PROBE_LEASE_MS };
  return { state: next, permit: { allow: true, probe, slow: state.slow } };
}

export type Outcome = { ok: boolean; statusCode: number | null; error: string | null; responseExcerpt: string | null; gone: boolean; at: number; durationMs: number };
export type HealthPolicy = { circuitOpenAfter: number; disableAfter: number; disableAfterSeconds: number };
/** `circuitClosed`: a probe succeeded, so the deliveries held behind the circuit may go. */
export type OutcomeEffects = { circuitOpened: boolean; circuitClosed: boolean; disableReason: string | null };

export function applyOutcome(state: HealthState, outcome: Outcome, policy: HealthPolicy): { state: HealthState; effects: OutcomeEffects } {
  const slow = outcome.durationMs >= SLOW_SEND_MS;
  if (outcome.ok) {
    return {
      state: { ...state, ...closedCircuit, probeCandidateAt: null, slow, consecutiveFailures: 0, failingSince: null, lastSuccessAt: outcome.at, lastStatusCode: outcome.statusCode },
      effects: { circuitOpened: false, circuitClosed: state.circuit !== "closed", disableReason: null },
    };
  }
  const next: HealthState = {
    ...state,
    consecutiveFailures: state.consecutiveFailures + 1,
    failingSince: state.failingSince ?? outcome.at,
    lastFailureAt: outcome.at,
    lastStatusCode: outcome.statusCode,
    lastError: outcome.error,
    lastResponseExcerpt: outcome.responseExcerpt,
    slow,
  };
  let circuitOpened = false;
  if (state.circuit === "half_open") {
    Object.assign(next, { circuit: "open", openedAt: outcome.at, cooldownMs: Math.min(state.cooldownMs * 2, MAX_COOLDOWN_MS), probeUntil: null });
  } else if (state.circuit === "closed" && next.consecutiveFailures >= policy.circuitOpenAfter) {
    Object.assign(next, { circuit: "open", openedAt: outcome.at, cooldownMs: BASE_COOLDOWN_MS, probeUntil: null });
    circuitOpened = true;
  }
  let disableReason: string | null = null;
  if (outcome.gone) {
    disableReason = "The endpoint answered 410 Gone, asking not to be called again.";
  } else if (next.consecutiveFailures >= policy.disableAfter && outcome.at - next.failingSince! >= policy.disableAfterSeconds * 1000) {
    disableReason = `${next.consecutiveFailures} consecutive failed attempts since ${new Date(next.failingSince!).toISOString()}.`;
  }
  return { state: next, effects: { circuitOpened, circuitClosed: false, disableReason } };
}

const closedCircuit = { circuit: "closed", openedAt: null, cooldownMs: BASE_COOLDOWN_MS, probeUntil: null } as const;

/**
 * What the held deliveries need: all of them released once the circuit is closed; otherwise one let out as
 * the probe candidate when the cool-down ends (and again if neither it nor another probe got an answer
 * within a probe lease, say its message was lost); else nothing until `until`.
 */
export type HoldWork = { kind: "none" } | { kind: "release_all" } | { kind: "release_candidate" } | { kind: "wait"; until: number };

export function holdWork(state: HealthState, now: number): HoldWork {
  if (state.heldSince === null) return { kind: "none" };
  if (state.circuit === "closed") return { kind: "release_all" };
  const probeAt = state.circuit === "open" ? state.openedAt! + state.cooldownMs : (state.probeUntil ?? now);
  const candidateAt = state.probeCandidateAt === null ? probeAt : Math.max(probeAt, state.probeCandidateAt + PROBE_LEASE_MS);
  return now >= candidateAt ? { kind: "release_candidate" } : { kind: "wait", until: candidateAt };
}

/** After a re-enable: a clean slate that remembers the last success, and any deliveries still held (now released). */
export function resetHealth(state: HealthState): HealthState {
  return { ...HEALTHY, lastSuccessAt: state.lastSuccessAt, heldSince: state.heldSince };
}
