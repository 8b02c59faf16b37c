/**
 * @module Claim before send. A delivery is sent only by whoever moves it to `sending` with a lease, in one
 * conditional UPDATE: a duplicate or stale message finds nothing to claim, a succeeded delivery is never
 * claimed again, and a lapsed lease (a sender that died mid-send) makes it claimable once more.
 */
import { and, eq, inArray, lt, lte, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { deliveries, endpoints, events, projects, type Delivery, type Endpoint, type Project } from "../db/schema";

/** Longer than the longest endpoint timeout (30 s) plus the bookkeeping around a send. */
export const LEASE_MS = 90_000;
/** Queue delays have whole-second precision; a message may arrive a little before its time. */
const EARLY_TOLERANCE_MS = 2_000;

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
      .set({ status: "sending", leaseUntil: new Date(now + LEASE_MS), updatedAt: new Date(now) })
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
