/**
 * @module The endpoint health Durable Object: one per endpoint (`idFromName(endpointId)`), asked by the
 * delivery path once per batch before it claims (`admit`) and told the batch's outcomes after its sends
 * (`recordOutcomes`). It is the composition root of what an endpoint's health sets in motion, and owns only the order of things: the decisions are the pure policy
 * (`endpoint-health/policy.ts`), what it remembers is `endpoint-health/storage.ts`, and the work it starts
 * from its alarm belongs to the folders that do it — releasing held deliveries and the slow lane
 * (`delivery/`), the disable and its alert (`alerts/`), operational events (`ingest/`), alert emails
 * (`alerts/outbox.ts`). It answers without waiting on the network; slow work waits for the alarm.
 *
 * A disable is durable before it is acted on: the decision is saved with the state that led to it and an
 * alarm is set, then D1 is written; an eviction anywhere in between leaves the alarm to finish it.
 */
import { DurableObject } from "cloudflare:workers";
import { processAlerts, recordAlertSent } from "./alerts/outbox";
import { pauseRemainingDeliveries, recordCircuitOpened, recordDisabled } from "./alerts/record";
import { database } from "./db/client";
import { RELEASE_CHUNK, releaseHeldDeliveries } from "./delivery/holds";
import { SLOW_LANE_CONCURRENCY, sendSlowLaneRound, slowLanePickupBy } from "./delivery/slow-lane";
import type { AdmitRequest, EndpointHealthSnapshot, SendAnswer } from "./endpoint-health/client";
import { applyOutcome, holdWork, permitSend, resetHealth, type HealthPolicy, type HealthState, type Outcome } from "./endpoint-health/policy";
import { HealthStorage, type DisableIntent } from "./endpoint-health/storage";
import { emitMetaEvent } from "./ingest/meta-events";

/** How soon the alarm tries again when D1 or MailChannels could not be reached. */
const RETRY_ALARM_MS = 30_000;
/** Bounded work per alarm run; the alarm runs again at once while more is left. */
const RELEASE_CHUNKS_PER_ALARM = 10;
const PAUSE_CHUNKS_PER_ALARM = 10;

export class EndpointHealth extends DurableObject<Env> {
  private readonly store: HealthStorage;
  private state: HealthState;
  private endpointId: string | null;
  /** A disable decided and not yet fully written to D1; `recorded` once the flip, alert and meta event are. */
  private pendingDisable: (DisableIntent & { recorded?: boolean }) | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new HealthStorage(ctx.storage.sql);
    ({ state: this.state, endpointId: this.endpointId, pendingDisable: this.pendingDisable } = this.store.load());
  }

  /**
   * One answer per delivery of `deliveryIds`, in order: the batch asks once per endpoint, before it claims.
   * A delivery refused by the rate limit is given a slot of its own; one handed to the slow lane is in it
   * when this returns.
   */
  async admit({ endpointId, deliveryIds, rateLimitPerSecond, inSlowLane = false }: AdmitRequest): Promise<SendAnswer[]> {
    const now = Date.now();
    const before = this.state;
    const changedEndpoint = this.endpointId !== endpointId;
    this.endpointId = endpointId;
    let held = false;
    let handedOff = false;
    const slots = this.store.reservedSlots(deliveryIds);
    const answers = deliveryIds.map((deliveryId): SendAnswer => {
      const reservedSlot = slots.get(deliveryId) ?? null;
      const { state, permit } = permitSend(this.state, { now, rateLimitPerSecond, inSlowLane, reservedSlot });
      this.state = state;
      if (!permit.allow && permit.reason === "rate_limited") {
        if (permit.retryAt !== reservedSlot) this.store.reserveSlot(deliveryId, permit.retryAt, now);
        return permit;
      }
      const handOff = permit.allow && permit.slow && !inSlowLane;
      if (reservedSlot !== null && !handOff) this.store.forgetSlot(deliveryId);
      if (!permit.allow) held = true;
      if (!handOff) return permit;
      handedOff = true;
      const pickupBy = slowLanePickupBy(this.store.slowLaneLength(), now);
      this.store.enterSlowLane(deliveryId);
      return { allow: true, probe: false, slow: true, pickupBy };
    });
    if (this.state !== before || changedEndpoint) this.save();
    if (held) await this.alarmBy(this.holdAlarmAt(now));
    if (handedOff) await this.alarmBy(now);
    return answers;
  }

  /** The outcomes of a batch's sends to this endpoint, in the order they finished. */
  async recordOutcomes(endpointId: string, outcomes: readonly Outcome[], policy: HealthPolicy): Promise<EndpointHealthSnapshot> {
    let opened = false;
    let closed = false;
    let disableReason: string | null = null;
    for (const outcome of outcomes) {
      const { state, effects } = applyOutcome(this.state, outcome, policy);
      this.state = state;
      opened ||= effects.circuitOpened;
      closed ||= effects.circuitClosed;
      disableReason ??= effects.disableReason;
    }
    this.endpointId = endpointId;
    if (disableReason && !this.pendingDisable) this.pendingDisable = { reason: disableReason, at: Date.now() };
    this.save();
    if (disableReason) {
      await this.alarmBy(Date.now() + RETRY_ALARM_MS);
      await this.disable();
    } else if (opened && this.state.circuit !== "closed") await this.warnCircuitOpened();
    if (closed && this.state.circuit === "closed" && this.state.heldSince !== null) await this.alarmBy(Date.now());
    return this.snapshot();
  }

  async reset(): Promise<void> {
    this.state = resetHealth(this.state);
    this.pendingDisable = null;
    this.store.clearSlots();
    this.save();
    if (this.state.heldSince !== null) await this.alarmBy(Date.now());
  }

  snapshot(): EndpointHealthSnapshot {
    const s = this.state;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      circuitState: s.circuit,
      consecutiveFailures: s.consecutiveFailures,
      failingSince: iso(s.failingSince),
      lastSuccessAt: iso(s.lastSuccessAt),
      lastFailureAt: iso(s.lastFailureAt),
      lastStatusCode: s.lastStatusCode,
      lastError: s.lastError,
      circuitReopensAt: s.circuit === "open" && s.openedAt !== null ? iso(s.openedAt + s.cooldownMs) : null,
      slow: s.slow,
    };
  }

  async alarm(): Promise<void> {
    if (this.pendingDisable) await this.disable();
    const holdsRetryAt = await this.workHolds();
    const moreInSlowLane = await this.workSlowLane();
    const alertsDueAt = await this.workOutbox();
    const now = Date.now();
    const next = [
      moreInSlowLane ? now : null,
      this.pendingDisable ? (this.pendingDisable.recorded ? now : now + RETRY_ALARM_MS) : null,
      holdsRetryAt ?? this.holdAlarmAt(now),
      alertsDueAt,
    ].filter((at): at is number => at !== null);
    if (next.length > 0) await this.ctx.storage.setAlarm(Math.min(...next));
  }

  /** Idempotent: D1 flips the endpoint once for this decision, and the alert's dedupe key names that flip. */
  private async disable(): Promise<void> {
    const intent = this.pendingDisable!;
    const endpointId = this.endpointId!;
    const db = database(this.env);
    try {
      if (!intent.recorded) {
        const disabled = await recordDisabled(db, this.env, { endpointId, reason: intent.reason, at: intent.at }, this.state);
        if (disabled) {
          await emitMetaEvent(this.env, disabled.endpoint, "endpoint.disabled", `endpoint.disabled:${endpointId}:${intent.at}`, {
            endpointId,
            url: disabled.endpoint.url,
            reason: disabled.reason,
            disabledAt: disabled.disabledAt.toISOString(),
            consecutiveFailures: disabled.consecutiveFailures,
            pausedDeliveries: disabled.waitingDeliveries,
          });
        }
        // Not disabled by this decision (deleted, or disabled by a person first): nothing more to do.
        this.pendingDisable = disabled ? { ...intent, recorded: true } : null;
        this.save();
        await this.alarmBy(Date.now());
      }
      if (this.pendingDisable?.recorded) {
        let more = true;
        for (let i = 0; i < PAUSE_CHUNKS_PER_ALARM && more; i++) more = await pauseRemainingDeliveries(db, endpointId, intent.at);
        if (!more) {
          this.pendingDisable = null;
          this.save();
        }
      }
    } catch (error) {
      console.error(JSON.stringify({ msg: "disable not fully recorded; the alarm retries", endpointId, error: String(error) }));
    }
  }

  /** Releases what the circuit holds, as the policy says; returns when to retry after a failure. */
  private async workHolds(): Promise<number | null> {
    if (!this.endpointId) return null;
    const now = Date.now();
    const work = holdWork(this.state, now);
    try {
      if (work.kind === "release_all") {
        for (let i = 0; i < RELEASE_CHUNKS_PER_ALARM; i++) {
          if ((await releaseHeldDeliveries(this.env, this.endpointId, RELEASE_CHUNK, now)) < RELEASE_CHUNK) {
            this.state = { ...this.state, heldSince: null };
            break;
          }
        }
      } else if (work.kind === "release_candidate") {
        const released = await releaseHeldDeliveries(this.env, this.endpointId, 1, now);
        this.state = released === 0 ? { ...this.state, heldSince: null, probeCandidateAt: null } : { ...this.state, probeCandidateAt: now };
      }
      this.save();
      return null;
    } catch (error) {
      console.error(JSON.stringify({ msg: "held deliveries not released; the alarm retries", endpointId: this.endpointId, error: String(error) }));
      return now + RETRY_ALARM_MS;
    }
  }

  /** When held deliveries next need the alarm, or null. */
  private holdAlarmAt(now: number): number | null {
    const work = holdWork(this.state, now);
    if (work.kind === "none") return null;
    return work.kind === "wait" ? work.until : now;
  }

  /** Sends a round of slow-lane deliveries; true when more are waiting. */
  private async workSlowLane(): Promise<boolean> {
    const ids = this.store.slowLaneRound(SLOW_LANE_CONCURRENCY);
    if (ids.length === 0) return false;
    await sendSlowLaneRound(this.env, ids);
    return this.store.leaveSlowLane(ids);
  }

  /** Sends this endpoint's due alerts and records the sends D1 missed; returns when the alarm is next needed for them. */
  private async workOutbox(): Promise<number | null> {
    if (!this.endpointId) return null;
    try {
      for (const fact of this.store.unrecordedSent()) {
        await recordAlertSent(this.env, fact);
        this.store.forgetSent(fact.alertId);
      }
      const { nextDue, unrecorded } = await processAlerts(this.env, { endpointId: this.endpointId });
      this.store.rememberSent(unrecorded);
      return unrecorded.length > 0 ? Math.min(nextDue ?? Infinity, Date.now() + RETRY_ALARM_MS) : nextDue;
    } catch (error) {
      console.error(JSON.stringify({ msg: "alert outbox not worked; the alarm retries", endpointId: this.endpointId, error: String(error) }));
      return Date.now() + RETRY_ALARM_MS;
    }
  }

  private async warnCircuitOpened(): Promise<void> {
    try {
      if (await recordCircuitOpened(database(this.env), this.env, this.endpointId!, this.state)) await this.alarmBy(Date.now());
    } catch (error) {
      // A warning is a courtesy; the disable alert that may follow is the one that must not be lost.
      console.error(JSON.stringify({ msg: "circuit warning not recorded", endpointId: this.endpointId, error: String(error) }));
    }
  }

  /** Sets the alarm for `at` unless it is already set for earlier. */
  private async alarmBy(at: number | null): Promise<void> {
    if (at === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private save(): void {
    this.store.save(this.state, this.endpointId, this.pendingDisable);
  }
}
