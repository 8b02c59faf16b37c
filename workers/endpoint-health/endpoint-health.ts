/**
 * @module The endpoint health Durable Object: one per endpoint (`idFromName(endpointId)`), called over RPC
 * by the consumer before and after every send. It keeps the failure streak and last outcomes in SQLite.
 */
import { DurableObject } from "cloudflare:workers";
import type { EndpointHealthSnapshot } from "./client";

export type AttemptOutcome = { ok: boolean; statusCode: number | null; error: string | null; at: number };

type HealthRow = {
  consecutive_failures: number;
  failing_since: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
};

const EMPTY: HealthRow = {
  consecutive_failures: 0,
  failing_since: null,
  last_success_at: null,
  last_failure_at: null,
  last_status_code: null,
  last_error: null,
};

export class EndpointHealth extends DurableObject<Env> {
  private state: HealthRow;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS health (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      consecutive_failures INTEGER NOT NULL, failing_since INTEGER, last_success_at INTEGER,
      last_failure_at INTEGER, last_status_code INTEGER, last_error TEXT)`);
    this.state = ctx.storage.sql.exec<HealthRow>("SELECT * FROM health WHERE id = 1").toArray()[0] ?? { ...EMPTY };
  }

  recordOutcome(outcome: AttemptOutcome): EndpointHealthSnapshot {
    const s = this.state;
    if (outcome.ok) {
      Object.assign(s, { consecutive_failures: 0, failing_since: null, last_success_at: outcome.at });
    } else {
      Object.assign(s, {
        consecutive_failures: s.consecutive_failures + 1,
        failing_since: s.failing_since ?? outcome.at,
        last_failure_at: outcome.at,
        last_error: outcome.error,
      });
    }
    s.last_status_code = outcome.statusCode;
    this.save();
    return this.snapshot();
  }

  reset(): void {
    this.state = { ...EMPTY, last_success_at: this.state.last_success_at };
    this.save();
  }

  snapshot(): EndpointHealthSnapshot {
    const s = this.state;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      circuitState: "closed",
      consecutiveFailures: s.consecutive_failures,
      failingSince: iso(s.failing_since),
      lastSuccessAt: iso(s.last_success_at),
      lastFailureAt: iso(s.last_failure_at),
      lastStatusCode: s.last_status_code,
      lastError: s.last_error,
    };
  }

  private save(): void {
    const s = this.state;
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO health (id, consecutive_failures, failing_since, last_success_at, last_failure_at, last_status_code, last_error)
       VALUES (1, ?, ?, ?, ?, ?, ?)`,
      s.consecutive_failures, s.failing_since, s.last_success_at, s.last_failure_at, s.last_status_code, s.last_error,
    );
  }
}
