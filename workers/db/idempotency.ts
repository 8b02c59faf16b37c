/**
 * @module Stored answers to requests sent with an idempotency key, per project, kept for `IDEMPOTENCY_TTL_MS`.
 * A request first claims its key (a row without an answer); the answer is stored when it succeeds, and the
 * claim is dropped when it does not, so a retry then runs again. A claim whose request died lapses.
 */
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Database } from "./client";
import { idempotentResponses } from "./schema";

const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** Longer than any request runs: after it, a claim without an answer belongs to a request that died. */
const CLAIM_LAPSES_MS = 60_000;
/** Expired rows deleted per claim: the table stays about one day's worth of keys, each write does bounded work. */
const EXPIRED_PER_CLAIM = 20;

export type StoredResponse = { status: number; body: string };
export type Claim =
  | { kind: "claimed" }
  | { kind: "answered"; response: StoredResponse }
  | { kind: "in-progress" }
  | { kind: "other-request"; request: string };

export async function claimIdempotencyKey(db: Database, projectId: string, key: string, request: string, now = Date.now()): Promise<Claim> {
  const where = and(eq(idempotentResponses.projectId, projectId), eq(idempotentResponses.key, key));
  const [inserted, , existing] = await db.batch([
    db.insert(idempotentResponses).values({ projectId, key, request, response: null, createdAt: new Date(now) }).onConflictDoNothing().returning({ key: idempotentResponses.key }),
    // Takes over an expired answer or a lapsed claim in the same round trip.
    db
      .update(idempotentResponses)
      .set({ request, response: null, createdAt: new Date(now) })
      .where(
        and(
          where,
          sql`(${idempotentResponses.createdAt} < ${now - IDEMPOTENCY_TTL_MS} or (${idempotentResponses.response} is null and ${idempotentResponses.createdAt} < ${now - CLAIM_LAPSES_MS}))`,
        ),
      ),
    db.select().from(idempotentResponses).where(where),
  ]);
  const row = existing[0];
  if (inserted.length > 0 || (row && row.response === null && row.createdAt.getTime() === now && row.request === request)) return { kind: "claimed" };
  if (!row) return { kind: "claimed" };
  if (row.request !== request) return { kind: "other-request", request: row.request };
  if (row.response === null) return { kind: "in-progress" };
  return { kind: "answered", response: row.response };
}

export async function storeIdempotentResponse(db: Database, projectId: string, key: string, response: StoredResponse): Promise<void> {
  await db.update(idempotentResponses).set({ response }).where(and(eq(idempotentResponses.projectId, projectId), eq(idempotentResponses.key, key)));
}

export async function releaseIdempotencyKey(db: Database, projectId: string, key: string): Promise<void> {
  await db
    .delete(idempotentResponses)
    .where(and(eq(idempotentResponses.projectId, projectId), eq(idempotentResponses.key, key), sql`${idempotentResponses.response} is null`));
}

/** Deletes a few of the oldest expired rows, across projects. */
export async function pruneExpired(db: Database, now = Date.now()): Promise<void> {
  const expired = db
    .select({ rowid: sql`rowid` })
    .from(idempotentResponses)
    .where(lt(idempotentResponses.createdAt, new Date(now - IDEMPOTENCY_TTL_MS)))
    .orderBy(idempotentResponses.createdAt)
    .limit(EXPIRED_PER_CLAIM);
  await db.delete(idempotentResponses).where(inArray(sql`rowid`, expired));
}
