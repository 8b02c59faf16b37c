/**
 * @module The endpoint health Durable Object: one per endpoint (`idFromName(endpointId)`), asked by the
 * consumer before every send and told the outcome after it. It keeps counters and decisions in SQLite,
 * answers without waiting on the network, and leaves slow work to its alarm: alert emails, and the sends of
 * an endpoint that has become slow (the slow lane), which would otherwise hold up the queue consumer's batches.
 */
import { DurableObject } from "cloudflare:workers";
import { config } from "../config";
import { database } from "../db/client";
import { claimDeliveries } from "../delivery/claim";
import { deliver } from "../delivery/deliver";
import { ConnectionLimiter } from "../outbound/connection-limiter";
import { processAlerts } from "../alerts/outbox";
import { recordDisabled, recordCircuitOpened } from "../alerts/record";
import type { EndpointHealthSnapshot } from "./client";
import { HEALTHY, applyOutcome, permitSend, resetHealth, type HealthPolicy, type HealthState, type Outcome, type SendPermit } from "./policy";

/** How soon the alarm tries again when D1 or MailChannels could not be reached. */
const RETRY_ALARM_MS = 30_000;
/** Slow-lane sends the alarm runs at once. */
const SLOW_LANE_CONCURRENCY = 10;

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
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS slow_lane (delivery_id TEXT PRIMARY KEY)");
    const row = ctx.storage.sql.exec<Row>("SELECT state, endpoint_id, pending_disable FROM health WHERE id = 1").toArray()[0];
    this.state = row ? { ...HEALTHY, ...JSON.parse(row.state) } : { ...HEALTHY };
    this.endpointId = row?.endpoint_id ?? null;
    this.pendingDisable = row?.pending_disable ?? null;
  }

  beforeSend(endpointId: string, rateLimitPerSecond: number | null, inSlowLane = false): SendPermit {
    const { state, permit } = permitSend(this.state, { now: Date.now(), rateLimitPerSecond, inSlowLane });
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

  /** Takes a delivery into the slow lane; the alarm sends it through the ordinary delivery path. */
  async sendInSlowLane(deliveryId: string): Promise<void> {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO slow_lane (delivery_id) VALUES (?)", deliveryId);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > Date.now()) await this.ctx.storage.setAlarm(Date.now());
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
      slow: s.slow,
    };
  }

  async alarm(): Promise<void> {
    if (this.pendingDisable) await this.disable(this.pendingDisable);
    const moreInSlowLane = await this.workSlowLane();
    const nextDue = this.endpointId ? await processAlerts(this.env, { endpointId: this.endpointId }) : null;
    if (moreInSlowLane) await this.ctx.storage.setAlarm(Date.now());
    else if (nextDue !== null) await this.ctx.storage.setAlarm(nextDue);
  }

  /** Sends a round of slow-lane deliveries; true when more are waiting. */
  private async workSlowLane(): Promise<boolean> {
    const ids = this.ctx.storage.sql
      .exec<{ delivery_id: string }>("SELECT delivery_id FROM slow_lane LIMIT ?", SLOW_LANE_CONCURRENCY)
      .toArray()
      .map((row) => row.delivery_id);
    if (ids.length === 0) return false;
    const db = database(this.env);
    // Claimed like any send, so a copy the sweeper re-queued meanwhile is not sent twice.
    const claimed = await claimDeliveries(db, ids, Date.now());
    const connections = new ConnectionLimiter();
    await Promise.all(
      claimed.map((item) =>
        deliver(db, this.env, item, { allowPrivateNetwork: config(this.env).allowPrivateNetwork, inSlowLane: true, connections }).catch((error) =>
          console.error(JSON.stringify({ msg: "slow-lane delivery failed unexpectedly", deliveryId: item.delivery.id, error: String(error) })),
        ),
      ),
    );
    for (const id of ids) this.ctx.storage.sql.exec("DELETE FROM slow_lane WHERE delivery_id = ?", id);
    return this.ctx.storage.sql.exec("SELECT 1 FROM slow_lane LIMIT 1").toArray().length > 0;
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
