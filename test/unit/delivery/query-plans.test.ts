/**
 * The delivery path's statements find their rows by id, never by walking the backlog: the planner is free to
 * pick `deliveries_status_next_attempt_at_idx` for a claim's "due" terms, which reads every due delivery on
 * each batch (measured: a 15 k backlog drained at about 60 deliveries/s). `EXPLAIN QUERY PLAN` on the real
 * migrated schema; without ANALYZE statistics SQLite plans the same at any size.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import type { Attempt } from "../../../workers/db/schema";
import { batchReadQuery } from "../../../workers/delivery/claim";
import { changeStatement, claimStatement, insertAttemptsStatement } from "../../../workers/delivery/writes";

/** A D1 stand-in that keeps what a statement builder prepares and binds, to plan it on the real database. */
function captured(build: (db: D1Database) => unknown): { sql: string; params: unknown[] } {
  let sql = "";
  let params: unknown[] = [];
  const db = { prepare: (text: string) => ((sql = text), { bind: (...values: unknown[]) => ((params = values), {}) }) } as unknown as D1Database;
  build(db);
  return { sql, params };
}

async function planOf({ sql, params }: { sql: string; params: unknown[] }): Promise<string[]> {
  const { results } = await env.DB.prepare(`explain query plan ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

const ids = ["dlv_a", "dlv_b"];
const lease = new Date();
const attempt = { id: "att_a", projectId: "prj_a", deliveryId: "dlv_a", attempt: 1, trigger: "scheduled", startedAt: lease, durationMs: 1, request: { url: "https://x.example.com" }, response: null, error: null } as Attempt;
const deliveriesReadBy = (plan: string[]) => plan.filter((line) => /\bdeliveries\b/.test(line));

describe("the delivery path's plans", () => {
  it.each([
    ["the batch's read", () => batchReadQuery(database(env), ids).toSQL()],
    ["the claim", () => captured((db) => claimStatement(db, ids, Date.now(), 60_000))],
    ["a batch's state changes", () => captured((db) => changeStatement(db, [{ id: "dlv_a", guard: { lease }, set: { status: "succeeded" } }, { id: "dlv_b", guard: { readAt: lease }, set: { status: "paused" } }], Date.now()))],
    ["a batch's attempts", () => captured((db) => insertAttemptsStatement(db, [{ row: attempt, lease }]))],
  ])("%s finds deliveries by id", async (_, build) => {
    const plan = await planOf(build());
    expect(deliveriesReadBy(plan).length).toBeGreaterThan(0);
    for (const line of deliveriesReadBy(plan)) expect(line).toMatch(/USING (INTEGER PRIMARY KEY|INDEX sqlite_autoindex_deliveries_1) \(id=\?\)/);
  });
});
