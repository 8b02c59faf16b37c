/**
 * @module What an endpoint's health DO keeps in its own SQLite storage, so that nothing it has decided is
 * lost with an eviction: the health state, a disable decided but not yet fully written to D1, the rate
 * limit's reserved slots, the slow lane, and alert emails that were sent but whose sending D1 has not yet
 * recorded.
 */
import { HEALTHY, type HealthState } from "./policy";

/** A disable the DO has decided: `at` is the endpoint's `disabled_at`, which names its one alert. */
export type DisableIntent = { reason: string; at: number };

/** Reservations whose delivery never came back (deleted, paused) are forgotten this long after their slot. */
const FORGET_SLOT_AFTER_MS = 10 * 60_000;
const FORGET_SLOTS_PER_CALL = 100;

export class HealthStorage {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, endpoint_id TEXT, pending_disable TEXT)",
    );
    sql.exec("CREATE TABLE IF NOT EXISTS slow_lane (delivery_id TEXT PRIMARY KEY)");
    sql.exec("CREATE TABLE IF NOT EXISTS rate_slots (delivery_id TEXT PRIMARY KEY, slot_at INTEGER NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS rate_slots_slot_at_idx ON rate_slots (slot_at)");
    sql.exec("CREATE TABLE IF NOT EXISTS sent_alerts (alert_id TEXT PRIMARY KEY, sent_at INTEGER NOT NULL)");
  }

  load(): { state: HealthState; endpointId: string | null; pendingDisable: (DisableIntent & { recorded?: boolean }) | null } {
    const row = this.sql.exec<{ state: string; endpoint_id: string | null; pending_disable: string | null }>("SELECT state, endpoint_id, pending_disable FROM health WHERE id = 1").toArray()[0];
    const pending = row?.pending_disable ?? null;
    return {
      state: row ? { ...HEALTHY, ...JSON.parse(row.state) } : { ...HEALTHY },
      endpointId: row?.endpoint_id ?? null,
      // An older version wrote the bare reason.
      pendingDisable: pending === null ? null : pending.startsWith("{") ? JSON.parse(pending) : { reason: pending, at: Date.now() },
    };
  }

  save(state: HealthState, endpointId: string | null, pendingDisable: (DisableIntent & { recorded?: boolean }) | null): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO health (id, state, endpoint_id, pending_disable) VALUES (1, ?, ?, ?)",
      JSON.stringify(state),
      endpointId,
      pendingDisable ? JSON.stringify(pendingDisable) : null,
    );
  }

  /** The slots reserved for any of `deliveryIds`, in one query for a batch's admission. */
  reservedSlots(deliveryIds: readonly string[]): Map<string, number> {
    const rows = this.sql.exec<{ delivery_id: string; slot_at: number }>(
      "SELECT delivery_id, slot_at FROM rate_slots WHERE delivery_id IN (SELECT value FROM json_each(?))",
      JSON.stringify(deliveryIds),
    );
    return new Map(rows.toArray().map((row) => [row.delivery_id, row.slot_at]));
  }

  reserveSlot(deliveryId: string, slotAt: number, now: number): void {
    this.sql.exec("INSERT OR REPLACE INTO rate_slots (delivery_id, slot_at) VALUES (?, ?)", deliveryId, slotAt);
    this.sql.exec(
      "DELETE FROM rate_slots WHERE delivery_id IN (SELECT delivery_id FROM rate_slots WHERE slot_at < ? LIMIT ?)",
      now - FORGET_SLOT_AFTER_MS,
      FORGET_SLOTS_PER_CALL,
    );
  }

  forgetSlot(deliveryId: string): void {
    this.sql.exec("DELETE FROM rate_slots WHERE delivery_id = ?", deliveryId);
  }

  clearSlots(): void {
    this.sql.exec("DELETE FROM rate_slots");
  }

  enterSlowLane(deliveryId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO slow_lane (delivery_id) VALUES (?)", deliveryId);
  }

  slowLaneLength(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM slow_lane").one().n;
  }

  slowLaneRound(size: number): string[] {
    return this.sql.exec<{ delivery_id: string }>("SELECT delivery_id FROM slow_lane ORDER BY rowid LIMIT ?", size).toArray().map((row) => row.delivery_id);
  }

  leaveSlowLane(ids: readonly string[]): boolean {
    for (const id of ids) this.sql.exec("DELETE FROM slow_lane WHERE delivery_id = ?", id);
    return this.sql.exec("SELECT 1 FROM slow_lane LIMIT 1").toArray().length > 0;
  }

  /** MailChannels accepted these alerts but D1 could not be told: the alarm records them, never resends. */
  rememberSent(sent: readonly { alertId: string; sentAt: number }[]): void {
    for (const { alertId, sentAt } of sent) this.sql.exec("INSERT OR IGNORE INTO sent_alerts (alert_id, sent_at) VALUES (?, ?)", alertId, sentAt);
  }

  unrecordedSent(): { alertId: string; sentAt: number }[] {
    return this.sql.exec<{ alert_id: string; sent_at: number }>("SELECT alert_id, sent_at FROM sent_alerts").toArray().map((row) => ({ alertId: row.alert_id, sentAt: row.sent_at }));
  }

  forgetSent(alertId: string): void {
    this.sql.exec("DELETE FROM sent_alerts WHERE alert_id = ?", alertId);
  }
}
