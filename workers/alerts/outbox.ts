/**
 * @module Sends what the alert outbox holds: claims due alerts with a lease (so an alarm and the sweeper
 * never send the same one twice at once), emails them, and retries failures with backoff for about a day.
 */
import { and, asc, eq, inArray, lt, lte, or, sql } from "drizzle-orm";
import { database } from "../db/client";
import { alerts, type Alert } from "../db/schema";
import { sendEmail } from "./mailchannels";

const LEASE_MS = 60_000;
const CLAIM_LIMIT = 25;
/** Waits after each failed send; when they are used up the alert is marked failed (still listed). */
const BACKOFF_SECONDS = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600];

/** Sends due alerts (of one endpoint, or all); returns when the earliest still-pending one is due. */
export async function processAlerts(env: Env, scope: { endpointId?: string } = {}, now = Date.now()): Promise<number | null> {
  const db = database(env);
  const inScope = scope.endpointId ? eq(alerts.endpointId, scope.endpointId) : undefined;
  const due = or(and(eq(alerts.status, "pending"), lte(alerts.nextAttemptAt, new Date(now))), and(eq(alerts.status, "sending"), lt(alerts.leaseUntil, new Date(now))));
  const candidates = db.select({ id: alerts.id }).from(alerts).where(and(inScope, due)).limit(CLAIM_LIMIT);
  const claimed = await db
    .update(alerts)
    .set({ status: "sending", leaseUntil: new Date(now + LEASE_MS), attempts: sql`${alerts.attempts} + 1` })
    .where(and(inArray(alerts.id, candidates), due))
    .returning();

  await Promise.all(claimed.map((alert) => deliverAlert(env, alert, now)));

  const next = await db
    .select({ at: alerts.nextAttemptAt })
    .from(alerts)
    .where(and(inScope, eq(alerts.status, "pending")))
    .orderBy(asc(alerts.nextAttemptAt))
    .limit(1)
    .get();
  return next?.at ? next.at.getTime() : null;
}

async function deliverAlert(env: Env, alert: Alert, now: number): Promise<void> {
  const db = database(env);
  const finish = (changes: Partial<Alert>) => db.update(alerts).set({ leaseUntil: null, ...changes }).where(eq(alerts.id, alert.id));

  if (alert.recipients.length === 0) {
    return void (await finish({ status: "skipped", lastError: "The project has no alert emails; set alertEmails with PATCH /api/v1/project." }));
  }
  if (!env.MAILCHANNELS_API_KEY) {
    console.warn(JSON.stringify({ msg: "alert email not sent: MAILCHANNELS_API_KEY is not configured", alertId: alert.id, kind: alert.kind, endpointId: alert.endpointId }));
    return void (await finish({ status: "skipped", lastError: "MAILCHANNELS_API_KEY is not configured; the alert is recorded here only." }));
  }
  const result = await sendEmail(env, { to: alert.recipients, subject: alert.subject, text: alert.text, html: alert.html });
  if (result.ok) return void (await finish({ status: "sent", sentAt: new Date(), lastError: null }));

  const wait = BACKOFF_SECONDS[alert.attempts - 1];
  console.error(JSON.stringify({ msg: "alert email failed", alertId: alert.id, attempt: alert.attempts, retrying: result.retryable && wait !== undefined, error: result.error }));
  if (result.retryable && wait !== undefined) await finish({ status: "pending", nextAttemptAt: new Date(now + wait * 1000), lastError: result.error });
  else await finish({ status: "failed", lastError: result.error });
}
