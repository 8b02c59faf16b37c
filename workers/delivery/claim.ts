/**
 * @module Claim before send. A delivery is sent only by whoever moves it to `sending` with a lease, in one
 * conditional UPDATE: a duplicate or stale message finds nothing to claim, a succeeded delivery is never
 * claimed again, and a lapsed lease (a sender that died mid-send) makes it claimable once more.
 *
 * The claim also counts the attempt it is for (`attempt_count` and the schedule's `schedule_step`), so a send
 * whose result is never recorded (D1 failed after it, the sender died) has still used its attempt, and a
 * deterministic failure ends with the schedule instead of sending again every lease. A claim that ends without
 * a send (a hold, a hand-off) gives the attempt back (`deliver.ts`).
 */
import { and, eq, gt, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { deliveries, endpoints, events, projects, type Delivery, type Endpoint, type Project } from "../db/schema";

/**
 * Longer than the longest time a claimed send can take in its invocation: a batch's sends share five
 * connections, so the last one waits up to one timeout (30 s at most) and then sends for one more; the
 * consumer's batch size is chosen for this (ARCHITECTURE.md, "Six connections").
 */
export const LEASE_MS = 90_000;
/**
 * How early a message may claim: the Worker's clock only moves with I/O, so `now` can trail real time a
 * little. A message that comes earlier than this (the local queue hands delayed messages out up to a second
 * early) claims nothing and is sent again for the rest of the wait, so a receiver's `Retry-After` is kept.
 */
const EARLY_TOLERANCE_MS = 100;

/** Of `deliveryIds`, those waiting for a time still ahead: their message came early and must be sent again. */
export async function notYetDue(db: Database, deliveryIds: readonly string[], now: number): Promise<{ id: string; nextAttemptAt: Date }[]> {
  if (deliveryIds.length === 0) return [];
  const rows = await db
    .select({ id: deliveries.id, nextAttemptAt: deliveries.nextAttemptAt })
    .from(deliveries)
    .where(and(inArray(deliveries.id, [...deliveryIds]), inArray(deliveries.status, ["queued", "retrying"]), gt(deliveries.nextAttemptAt, new Date(now + EARLY_TOLERANCE_MS)), isNull(deliveries.heldAt)))
    .all();
  return rows.filter((row): row is { id: string; nextAttemptAt: Date } => row.nextAttemptAt !== null);
}

export type ClaimedDelivery = { delivery: Delivery; endpoint: Endpoint; project: Project; body: string };

export async function claimDeliveries(db: Database, deliveryIds: readonly string[], now: number): Promise<ClaimedDelivery[]> {
  if (deliveryIds.length === 0) return [];
  const claimable = or(
    and(inArray(deliveries.status, ["queued", "retrying"]), lte(deliveries.nextAttemptAt, new Date(now + EARLY_TOLERANCE_MS))),
    and(eq(deliveries.status, "sending"), lt(deliveries.leaseUntil, new Date(now))),
  );
  const [first, ...rest] = deliveryIds.map((id) =>
    db
      .update(deliveries)
      .set({
        status: "sending",
        leaseUntil: new Date(now + LEASE_MS),
        attemptCount: sql`${deliveries.attemptCount} + 1`,
        scheduleStep: sql`${deliveries.scheduleStep} + 1`,
        updatedAt: new Date(now),
      })
      .where(and(eq(deliveries.id, id), claimable))
      .returning(),
  );
  const claimed = (await db.batch([first, ...rest])).flat();
  if (claimed.length === 0) return [];

  const rows = await db
    .select({ delivery: deliveries, endpoint: endpoints, project: projects, body: events.body })
    .from(deliveries)
    .innerJoin(endpoints, eq(endpoints.id, deliveries.endpointId))
    .innerJoin(projects, eq(projects.id, deliveries.projectId))
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .where(inArray(deliveries.id, claimed.map((row) => row.id)))
    .all();
  return rows;
}
