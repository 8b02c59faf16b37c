/**
 * @module Writes endpoint-health alerts into the outbox when an endpoint is disabled or starts failing. It
 * takes plain facts (what the endpoint's health says), not the DO's state. Each alert's dedupe key names the
 * change it reports, so a retried call writes nothing new.
 *
 * A disable is one D1 batch: the endpoint flips, the first chunk of its pending deliveries is paused and the
 * alert row is written, together or not at all. The pause and the alert are conditional on the endpoint
 * being disabled by this very decision (its `disabled_at`), so a retry after a lost answer, or a disable
 * that lost a race with a person's, writes nothing twice.
 */
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { config } from "../config";
import type { Database } from "../db/client";
import { newId } from "../db/ids";
import { PENDING_DELIVERY_STATUSES, alerts, deliveries, endpoints, projects, type Endpoint } from "../db/schema";
import { circuitOpenedEmail, endpointDisabledEmail, type EndpointAlertFacts } from "./templates";

/** What the endpoint's health knows about its failure streak. */
export type HealthFacts = {
  consecutiveFailures: number;
  failingSince: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponseExcerpt: string | null;
};

/** Deliveries paused by one statement: the disable's own batch, then each step of the rest. */
const PAUSE_CHUNK = 1_000;

export type DisabledFacts = { endpoint: Endpoint; disabledAt: Date; reason: string; consecutiveFailures: number; waitingDeliveries: number };

const WAITING = ["queued", "retrying"] as const;

/**
 * Disables the endpoint as decided at `at`, in one batch with its alert and the first paused chunk. Returns
 * the facts of the disable when the endpoint is disabled by this decision (now or by an earlier try of it),
 * or null when it is gone or was disabled otherwise.
 */
export async function recordDisabled(db: Database, env: Env, intent: { endpointId: string; reason: string; at: number }, health: HealthFacts): Promise<DisabledFacts | null> {
  const endpoint = await db.select().from(endpoints).where(eq(endpoints.id, intent.endpointId)).get();
  if (!endpoint || endpoint.deletedAt) return null;
  const ours = endpoint.status === "active" || endpoint.disabledAt?.getTime() === intent.at;
  if (!ours) return null;
  const disabledAt = new Date(intent.at);
  const reason = endpoint.status === "disabled" ? (endpoint.disabledReason ?? intent.reason) : intent.reason;
  const facts = await gatherFacts(db, env, endpoint, reason, health, PENDING_DELIVERY_STATUSES);
  const email = endpointDisabledEmail(facts);
  const disabledByThis = sql`exists (select 1 from ${endpoints} where ${endpoints.id} = ${endpoint.id} and ${endpoints.status} = 'disabled' and ${endpoints.disabledAt} = ${intent.at})`;
  const alertId = newId("alert");

  await db.batch([
    db
      .update(endpoints)
      .set({ status: "disabled", disabledReason: intent.reason, disabledAt, updatedAt: disabledAt })
      .where(and(eq(endpoints.id, endpoint.id), eq(endpoints.status, "active"), sql`${endpoints.deletedAt} is null`)),
    db
      .update(deliveries)
      .set({ status: "paused", heldAt: null, updatedAt: disabledAt })
      .where(and(inArray(deliveries.id, waitingChunk(db, endpoint.id)), inArray(deliveries.status, WAITING), disabledByThis)),
    db
      .insert(alerts)
      .select(
        db
          .select({
            id: sql`${alertId}`.as("id"),
            projectId: endpoints.projectId,
            endpointId: endpoints.id,
            kind: sql`'endpoint.disabled'`.as("kind"),
            dedupeKey: sql`${`endpoint.disabled:${endpoint.id}:${intent.at}`}`.as("dedupe_key"),
            recipients: sql`${JSON.stringify(facts.recipients)}`.as("recipients"),
            subject: sql`${email.subject}`.as("subject"),
            text: sql`${email.text}`.as("text"),
            html: sql`${email.html}`.as("html"),
            status: sql`'pending'`.as("status"),
            attempts: sql`0`.as("attempts"),
            nextAttemptAt: endpoints.disabledAt,
            leaseUntil: sql`null`.as("lease_until"),
            lastError: sql`null`.as("last_error"),
            sentAt: sql`null`.as("sent_at"),
            createdAt: endpoints.disabledAt,
          })
          .from(endpoints)
          .where(and(eq(endpoints.id, endpoint.id), eq(endpoints.status, "disabled"), eq(endpoints.disabledAt, disabledAt))),
      )
      .onConflictDoNothing({ target: alerts.dedupeKey }),
  ]);
  const now = await db.select().from(endpoints).where(eq(endpoints.id, endpoint.id)).get();
  if (!now || now.status !== "disabled" || now.disabledAt?.getTime() !== intent.at) return null;
  return { endpoint: now, disabledAt, reason: facts.reason, consecutiveFailures: health.consecutiveFailures, waitingDeliveries: facts.waitingDeliveries };
}

/**
 * Pauses the next chunk of a disabled endpoint's waiting deliveries; true while more remain. The disable's
 * batch paused the first chunk; this is the rest, one bounded statement per call (the DO's alarm repeats
 * it). Deliveries it has not reached yet are paused by the delivery path when they come due.
 */
export async function pauseRemainingDeliveries(db: Database, endpointId: string, disabledAt: number): Promise<boolean> {
  const paused = await db
    .update(deliveries)
    .set({ status: "paused", heldAt: null, updatedAt: new Date() })
    .where(
      and(
        inArray(deliveries.id, waitingChunk(db, endpointId)),
        inArray(deliveries.status, WAITING),
        sql`exists (select 1 from ${endpoints} where ${endpoints.id} = ${endpointId} and ${endpoints.status} = 'disabled' and ${endpoints.disabledAt} = ${disabledAt})`,
      ),
    )
    .returning({ id: deliveries.id });
  return paused.length === PAUSE_CHUNK;
}

const waitingChunk = (db: Database, endpointId: string) =>
  db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(eq(deliveries.endpointId, endpointId), inArray(deliveries.status, WAITING)))
    .limit(PAUSE_CHUNK);

/** The early warning: once per failure streak of an endpoint that had been healthy. Returns true when written. */
export async function recordCircuitOpened(db: Database, env: Env, endpointId: string, health: HealthFacts): Promise<boolean> {
  const endpoint = await db.select().from(endpoints).where(eq(endpoints.id, endpointId)).get();
  if (!endpoint || endpoint.status !== "active") return false;
  const facts = await gatherFacts(db, env, endpoint, `${health.consecutiveFailures} consecutive failed attempts; sends are paused while Ferry probes it.`, health, ["retrying"]);
  const now = new Date();
  const inserted = await db
    .insert(alerts)
    .values({
      id: newId("alert"),
      projectId: endpoint.projectId,
      endpointId: endpoint.id,
      kind: "endpoint.circuit_opened",
      dedupeKey: `endpoint.circuit_opened:${endpoint.id}:${health.failingSince}`,
      recipients: facts.recipients,
      ...circuitOpenedEmail(facts),
      status: "pending",
      nextAttemptAt: now,
      createdAt: now,
    })
    .onConflictDoNothing({ target: alerts.dedupeKey })
    .returning({ id: alerts.id });
  return inserted.length > 0;
}

async function gatherFacts(
  db: Database,
  env: Env,
  endpoint: Endpoint,
  reason: string,
  health: HealthFacts,
  waiting: readonly (typeof PENDING_DELIVERY_STATUSES)[number][],
): Promise<EndpointAlertFacts & { recipients: string[] }> {
  const [[project], [counted]] = await db.batch([
    db.select({ name: projects.name, alertEmails: projects.alertEmails }).from(projects).where(eq(projects.id, endpoint.projectId)),
    db
      .select({ n: count() })
      .from(deliveries)
      .where(and(eq(deliveries.endpointId, endpoint.id), inArray(deliveries.status, [...waiting]))),
  ]);
  const settings = config(env);
  return {
    recipients: project?.alertEmails ?? [],
    projectId: endpoint.projectId,
    projectName: project?.name ?? endpoint.projectId,
    endpointId: endpoint.id,
    endpointUrl: endpoint.url,
    reason,
    consecutiveFailures: health.consecutiveFailures,
    failingSince: health.failingSince === null ? null : new Date(health.failingSince).toISOString(),
    lastStatusCode: health.lastStatusCode,
    lastError: health.lastError,
    lastResponseExcerpt: health.lastResponseExcerpt,
    waitingDeliveries: counted?.n ?? 0,
    dashboardUrl: settings.dashboardUrl,
    apiUrl: settings.publicApiUrl,
  };
}
