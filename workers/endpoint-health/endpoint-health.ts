/**
 * @module The endpoint health Durable Object: one per endpoint (`idFromName(endpointId)`), asked by the
 * consumer before every send and told the outcome after it. It keeps counters and decisions in SQLite,
 * answers without waiting on the network, and leaves slow work (emails) to its alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { processAlerts } from "../alerts/outbox";
import { recordDisabled, recordCircuitOpened } from "../alerts/record";
import type { EndpointHealthSnapshot } from "./client";
import { HEALTHY, applyOutcome, permitSend, resetHealth, type HealthPolicy, type HealthState, type Outcome, type SendPermit } from "./policy";

/** How soon the alarm tries again when D1 or MailChannels could not be reached. */
const RETRY_ALARM_MS = 30_000;

type Row = { state: string; endpoint_id: string | null; pending_disable: string | null };

export class EndpointHealth extends DurableObject<Env> {
  private state: HealthState;
  private endpointId: string | null;
  /** A disable decided but not yet written to D1 (D1 failed): the alarm finishes it. */
  private pendingDisable: string | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, endpoint_id TEXT, pending_disable TEXT)",
    );
    const row = ctx.storage.sql.exec<Row>("SELECT state, endpoint_id, pending_disable FROM health WHERE id = 1").toArray()[0];
    this.state = row ? { ...HEALTHY, ...JSON.parse(row.state) } : { ...HEALTHY };
    this.endpointId = row?.endpoint_id ?? null;
    this.pendingDisable = row?.pending_disable ?? null;
  }

  beforeSend(endpointId: string, rateLimitPerSecond: number | null, now = Date.now()): SendPermit {
    const { state, permit } = permitSend(this.state, { now, rateLimitPerSecond });
    this.endpointId = endpointId;
    if (state !== this.state) {
      this.state = state;
      this.save();
    }
    return permit;
  }

  async recordOutcome(endpointId: string, outcome: Outcome, policy: HealthPolicy): Promise<EndpointHealthSnapshot> {
    const { state, effects } = applyOutcome(this.state, outcome, policy);
    this.state = state;
    this.endpointId = endpointId;
    this.save();
    if (effects.disableReason) await this.disable(effects.disableReason);
    else if (effects.circuitOpened) await this.warnCircuitOpened();
    return this.snapshot();
  }

  reset(): void {
    this.state = resetHealth(this.state);
    this.pendingDisable = null;
    this.save();
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
    };
  }

  async alarm(): Promise<void> {
    if (this.pendingDisable) await this.disable(this.pendingDisable);
    if (!this.endpointId) return;
    const nextDue = await processAlerts(this.env, { endpointId: this.endpointId });
    if (nextDue !== null) await this.ctx.storage.setAlarm(nextDue);
  }

  /** Idempotent: D1 flips the endpoint once, and the alert's dedupe key names that one flip. */
  private async disable(reason: string): Promise<void> {
    try {
      await recordDisabled(this.env, this.endpointId!, reason, this.state);
      this.pendingDisable = null;
      this.save();
      await this.ctx.storage.setAlarm(Date.now());
    } catch (error) {
      console.error(JSON.stringify({ msg: "disable not recorded; the alarm retries", endpointId: this.endpointId, error: String(error) }));
      this.pendingDisable = reason;
      this.save();
      await this.ctx.storage.setAlarm(Date.now() + RETRY_ALARM_MS);
    }
  }

  private async warnCircuitOpened(): Promise<void> {
    try {
      if (await recordCircuitOpened(this.env, this.endpointId!, this.state)) await this.ctx.storage.setAlarm(Date.now());
    } catch (error) {
      // A warning is a courtesy; the disable alert that may follow is the one that must not be lost.
      console.error(JSON.stringify({ msg: "circuit warning not recorded", endpointId: this.endpointId, error: String(error) }));
    }
  }

  private save(): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO health (id, state, endpoint_id, pending_disable) VALUES (1, ?, ?, ?)",
      JSON.stringify(this.state),
      this.endpointId,
      this.pendingDisable,
    );
  }
}
