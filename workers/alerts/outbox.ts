/**
 * @module Sends what the alert outbox holds: claims due alerts with a lease (so an alarm and the sweeper
 * never send the same one twice at once), emails them, and retries failures with backoff for about a day.
 *
 * At most once: an alert is marked `sending` in D1 before MailChannels is called. If the answer cannot be
 * recorded afterwards (the sender died, or D1 failed), the lapsed lease means "outcome unknown", never
 * "send again": the alert ends `unknown`. A caller that was told MailChannels accepted it but could not
 * record that (the endpoint DO keeps such facts in its storage) records it later with `recordAlertSent`.
 */
import { and, asc, eq, inArray, lt, lte, sql } from "drizzle-orm";
import { database } from "../db/client";
import { alerts, type Alert } from "../db/schema";
import { sendEmail } from "./mailchannels";

const LEASE_MS = 60_000;
const CLAIM_LIMIT = 25;
/** Waits after each failed send; when they are used up the alert is marked failed (still listed). */
const BACKOFF_SECONDS = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600];

export type SentFact = { alertId: string; sentAt: number };
export type OutboxRun = {
  /** When the earliest still-pending alert is due. */
  nextDue: number | null;
  /** Accepted by MailChannels, but D1 could not record it: keep these and `recordAlertSent` them later. */
  unrecorded: SentFact[];
};

const UNKNOWN_OUTCOME = "The sender stopped before MailChannels' answer was recorded; it is not sent again, so it cannot arrive twice.";

/** Sends due alerts (of one endpoint, or all). */
export async function processAlerts(env: Env, scope: { endpointId?: string } = {}, now = Date.now()): Promise<OutboxRun> {
  const db = database(env);
  const inScope = scope.endpointId ? eq(alerts.endpointId, scope.endpointId) : undefined;
  const lapsed = and(inScope, eq(alerts.status, "sending"), lt(alerts.leaseUntil, new Date(now)));
  await db
    .update(alerts)
    .set({ status: "unknown", leaseUntil: null, lastError: UNKNOWN_OUTCOME })
    .where(and(inArray(alerts.id, db.select({ id: alerts.id }).from(alerts).where(lapsed).limit(CLAIM_LIMIT)), lapsed));
  const due = and(eq(alerts.status, "pending"), lte(alerts.nextAttemptAt, new Date(now)));
  const candidates = db.select({ id: alerts.id }).from(alerts).where(and(inScope, due)).limit(CLAIM_LIMIT);
  const claimed = await db
    .update(alerts)
    .set({ status: "sending", leaseUntil: new Date(now + LEASE_MS), attempts: sql`${alerts.attempts} + 1` })
    .where(and(inArray(alerts.id, candidates), due))
    .returning();

  const unrecorded = (await Promise.all(claimed.map((alert) => deliverAlert(env, alert, now)))).filter((fact) => fact !== null);

  const next = await db
    .select({ at: alerts.nextAttemptAt })
    .from(alerts)
    .where(and(inScope, eq(alerts.status, "pending")))
    .orderBy(asc(alerts.nextAttemptAt))
    .limit(1)
    .get();
  return { nextDue: next?.at ? next.at.getTime() : null, unrecorded };
}

/** Records a send MailChannels accepted; also over `unknown`, which is what a lapsed lease left. */
export async function recordAlertSent(env: Env, fact: SentFact): Promise<void> {
  await database(env)
    .update(alerts)
    .set({ status: "sent", sentAt: new Date(fact.sentAt), leaseUntil: null, lastError: null })
    .where(and(eq(alerts.id, fact.alertId), inArray(alerts.status, ["sending", "unknown"])));
}

/** Returns the sent fact when MailChannels accepted the email and D1 would not record it. */
async function deliverAlert(env: Env, alert: Alert, now: number): Promise<SentFact | null> {
  const db = database(env);
  // Only while its lease is ours: a lapsed one was marked `unknown` and must stay so.
  const finish = (changes: Partial<Alert>) => db.update(alerts).set({ leaseUntil: null, ...changes }).where(and(eq(alerts.id, alert.id), eq(alerts.status, "sending")));

  if (alert.recipients.length === 0) {
    await finish({ status: "skipped", lastError: "The project has no alert emails; set alertEmails with PATCH /api/v1/project." });
    return null;
  }
  if (!env.MAILCHANNELS_API_KEY) {
    console.warn(JSON.stringify({ msg: "alert email not sent: MAILCHANNELS_API_KEY is not configured", alertId: alert.id, kind: alert.kind, endpointId: alert.endpointId }));
    await finish({ status: "skipped", lastError: "MAILCHANNELS_API_KEY is not configured; the alert is recorded here only." });
    return null;
  }
  const result = await sendEmail(env, { to: alert.recipients, subject: alert.subject, text: alert.text, html: alert.html });
  if (result.ok) {
    const fact = { alertId: alert.id, sentAt: Date.now() };
    try {
      await recordAlertSent(env, fact);
      return null;
    } catch (error) {
      console.error(JSON.stringify({ msg: "alert sent but not recorded; it is not sent again", alertId: alert.id, error: String(error) }));
      return fact;
    }
  }

  const wait = BACKOFF_SECONDS[alert.attempts - 1];
  console.error(JSON.stringify({ msg: "alert email failed", alertId: alert.id, attempt: alert.attempts, retrying: result.retryable && wait !== undefined, error: result.error }));
  if (result.retryable && wait !== undefined) await finish({ status: "pending", nextAttemptAt: new Date(now + wait * 1000), lastError: result.error });
  else await finish({ status: "failed", lastError: result.error });
  return null;
}
