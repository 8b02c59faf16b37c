/**
 * @module Read, then claim. A batch first reads what its messages name (one statement: the deliveries with
 * their endpoints, projects and bodies), so the endpoints' DOs can be asked before anything is claimed; only
 * the deliveries they let go are claimed (writes.ts), in one conditional UPDATE: a duplicate or stale message
 * finds nothing to claim, a succeeded delivery is never claimed again, and a lapsed lease (a sender that died
 * mid-send) makes it claimable once more. A delivery refused by its endpoint's rate limit is therefore
 * claimed once, at its slot, not once per refusal.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { deliveries, endpoints, events, projects, type Delivery, type Endpoint, type Project } from "../db/schema";
import { EARLY_TOLERANCE_MS, type Claim } from "./writes";

/** A delivery as read before its claim, with what sending it needs. */
export type DueDelivery = { delivery: Delivery; endpoint: Endpoint; project: Project; body: string };
/** After the claim: `delivery` carries the attempt and step the claim counted, and its lease. */
export type ClaimedDelivery = DueDelivery;

export type ReadBatch = {
  /** Claimable now. */
  due: DueDelivery[];
  /** Waiting for a time still ahead: their message came early and is sent again for the rest of the wait. */
  early: { id: string; nextAttemptAt: Date }[];
};

/**
 * The deliveries of `deliveryIds` still in play, with what sending them needs. Found by id: the status term
 * is written `+status` so that SQLite does not walk `deliveries_status_next_attempt_at_idx` (the whole backlog).
 */
export function batchReadQuery(db: Database, deliveryIds: readonly string[]) {
  return db
    .select({ delivery: deliveries, endpoint: endpoints, project: projects, body: events.body })
    .from(deliveries)
    .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
    .innerJoin(projects, eq(projects.id, deliveries.projectId))
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .where(and(sql`${deliveries.id} in (select value from json_each(${JSON.stringify([...new Set(deliveryIds)])}))`, sql`+${deliveries.status} in ('queued', 'retrying', 'sending')`));
}

/** Of `deliveryIds`, what is due and what came early; anything else (done, held, claimed by a live sender) is left alone. */
export async function readBatch(db: Database, deliveryIds: readonly string[], now: number): Promise<ReadBatch> {
  if (deliveryIds.length === 0) return { due: [], early: [] };
  const rows = await batchReadQuery(db, deliveryIds).all();
  const due: DueDelivery[] = [];
  const early: ReadBatch["early"] = [];
  for (const row of rows) {
    const { status, nextAttemptAt, leaseUntil, heldAt } = row.delivery;
    if (status === "sending") {
      if (leaseUntil !== null && leaseUntil.getTime() < now) due.push(row);
    } else if (nextAttemptAt === null) continue;
    else if (nextAttemptAt.getTime() <= now + EARLY_TOLERANCE_MS) due.push(row);
    else if (heldAt === null) early.push({ id: row.delivery.id, nextAttemptAt });
  }
  return { due, early };
}

/** The claimed deliveries, as the claim left them. */
export function applyClaims(due: readonly DueDelivery[], claims: readonly Claim[], now: number): ClaimedDelivery[] {
  const byId = new Map(claims.map((claim) => [claim.id, claim]));
  return due.flatMap((item) => {
    const claim = byId.get(item.delivery.id);
    if (!claim) return [];
    const { attemptCount, scheduleStep, leaseUntil } = claim;
    return [{ ...item, delivery: { ...item.delivery, status: "sending" as const, attemptCount, scheduleStep, leaseUntil, updatedAt: new Date(now) } }];
  });
}
