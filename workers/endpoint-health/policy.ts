/**
 * @module Endpoint health rules as pure functions over the DO's state: the circuit breaker, the token
 * bucket and the auto-disable decision.
 *
 * Rules:
 * - After `circuitOpenAfter` consecutive failures the circuit opens: sends are rescheduled (no attempt used)
 *   until a cool-down passes (60 s, doubling after each failed probe, up to 15 min). Then one probe goes
 *   through (half-open); a success closes the circuit and resets the streak, a failure re-opens it.
 * - The endpoint is disabled when the streak reaches `disableAfter` failures *and* is older than
 *   `disableAfterSeconds`, or at once when it answers 410 Gone.
 * - `rateLimitPerSecond` is a token bucket holding one second of sends; a send over it waits, never fails.
 * - An endpoint whose last attempt took `SLOW_SEND_MS` or more is slow: its sends go through the slow lane
 *   (the DO's alarm) rather than the queue consumer, so they cannot hold a batch of other endpoints' sends.
 */
export const BASE_COOLDOWN_MS = 60_000;
export const MAX_COOLDOWN_MS = 15 * 60_000;
/** Longer than a send can take (30 s timeout + bookkeeping), so a lost probe frees the circuit again. */
export const PROBE_LEASE_MS = 90_000;
export const SLOW_SEND_MS = 5_000;

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
  tokens: number | null;
  tokensAt: number | null;
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
  tokens: null,
  tokensAt: null,
};

export type SendPermit = { allow: true; probe: boolean; slow: boolean } | { allow: false; reason: "circuit_open" | "rate_limited"; retryAt: number };

export function permitSend(
  state: HealthState,
  input: { now: number; rateLimitPerSecond: number | null; inSlowLane?: boolean; random?: () => number },
): { state: HealthState; permit: SendPermit } {
  const { now, rateLimitPerSecond, inSlowLane = false, random = Math.random } = input;
  let probe = false;
  if (state.circuit === "open" && now < state.openedAt! + state.cooldownMs) {
    // Spread the waiting deliveries over a tenth of the cool-down so they do not return all at once.
    return { state, permit: { allow: false, reason: "circuit_open", retryAt: state.openedAt! + state.cooldownMs + Math.round(random() * state.cooldownMs * 0.1) } };
  }
  // The slow lane asks again before it sends: handing over spends neither a token nor the half-open probe.
  if (state.slow && !inSlowLane) return { state, permit: { allow: true, probe: false, slow: true } };
  if (state.circuit !== "closed") {
    if (state.probeUntil !== null && state.probeUntil > now) {
      return { state, permit: { allow: false, reason: "circuit_open", retryAt: state.probeUntil + Math.round(random() * 5000) } };
    }
    probe = true;
  }

  let next = state;
  if (rateLimitPerSecond) {
    const elapsed = state.tokensAt === null ? Infinity : (now - state.tokensAt) / 1000;
    const tokens = Math.min(rateLimitPerSecond, (state.tokens ?? rateLimitPerSecond) + elapsed * rateLimitPerSecond);
    if (tokens < 1) {
      const waitMs = ((1 - tokens) / rateLimitPerSecond) * 1000;
      return { state: { ...state, tokens, tokensAt: now }, permit: { allow: false, reason: "rate_limited", retryAt: now + Math.ceil(waitMs + random() * 1000) } };
    }
    next = { ...next, tokens: tokens - 1, tokensAt: now };
  }
  if (probe) next = { ...next, circuit: "half_open", probeUntil: now + PROBE_LEASE_MS };
  return { state: next, permit: { allow: true, probe, slow: state.slow } };
}

export type Outcome = { ok: boolean; statusCode: number | null; error: string | null; responseExcerpt: string | null; gone: boolean; at: number; durationMs: number };
export type HealthPolicy = { circuitOpenAfter: number; disableAfter: number; disableAfterSeconds: number };
export type OutcomeEffects = { circuitOpened: boolean; disableReason: string | null };

export function applyOutcome(state: HealthState, outcome: Outcome, policy: HealthPolicy): { state: HealthState; effects: OutcomeEffects } {
  const slow = outcome.durationMs >= SLOW_SEND_MS;
  if (outcome.ok) {
    return {
      state: { ...state, ...closedCircuit, slow, consecutiveFailures: 0, failingSince: null, lastSuccessAt: outcome.at, lastStatusCode: outcome.statusCode },
      effects: { circuitOpened: false, disableReason: null },
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
  return { state: next, effects: { circuitOpened, disableReason } };
}

const closedCircuit = { circuit: "closed", openedAt: null, cooldownMs: BASE_COOLDOWN_MS, probeUntil: null } as const;

/** After a re-enable: a clean slate that remembers only the last success. */
export function resetHealth(state: HealthState): HealthState {
  return { ...HEALTHY, lastSuccessAt: state.lastSuccessAt };
}
