/**
 * @module Writes endpoint-health alerts into the outbox (and the matching operational events) when an
 * endpoint is disabled or starts failing. Each alert's dedupe key names the change it reports, so a
 * retried call writes nothing new.
 */
import { and, count, eq } from "drizzle-orm";
import { config } from "../config";
import { database, type Database } from "../db/client";
import { disableEndpoint } from "../db/endpoints";
import { newId } from "../db/ids";
import { alerts, deliveries, endpoints, projects, type Endpoint } from "../db/schema";
import type { HealthState } from "../endpoint-health/policy";
import { enqueueJobStep } from "../queue/delivery-queue";
import { emitMetaEvent } from "./meta-events";
import { circuitOpenedEmail, endpointDisabledEmail, type EndpointAlertFacts } from "./templates";

/** Disables the endpoint in D1 (if still active) and makes sure its one alert and meta event exist. */
export async function recordDisabled(env: Env, endpointId: string, reason: string, health: HealthState): Promise<void> {
  const db = database(env);
  const disabled = await disableEndpoint(db, endpointId, reason);
  if (disabled) await enqueueJobStep(env, disabled.pauseJob.id);
  const endpoint = disabled?.endpoint ?? (await db.select().from(endpoints).where(eq(endpoints.id, endpointId)).get());
  if (!endpoint || endpoint.status !== "disabled" || !endpoint.disabledAt) return;
  const dedupeKey = `endpoint.disabled:${endpoint.id}:${endpoint.disabledAt.getTime()}`;
  const facts = await gatherFacts(env, db, endpoint, endpoint.disabledReason ?? reason, health);
  await insertAlert(db, endpoint, "endpoint.disabled", dedupeKey, facts, endpointDisabledEmail(facts));
  await emitMetaEvent(env, endpoint, "endpoint.disabled", dedupeKey, {
    endpointId: endpoint.id,
    url: endpoint.url,
    reason: facts.reason,
    disabledAt: endpoint.disabledAt.toISOString(),
    consecutiveFailures: health.consecutiveFailures,
    pausedDeliveries: facts.waitingDeliveries,
  });
}

/** The early warning: once per failure streak of an endpoint that had been healthy. Returns true when written. */
export async function recordCircuitOpened(env: Env, endpointId: string, health: HealthState): Promise<boolean> {
  const db = database(env);
  const endpoint = await db.select().from(endpoints).where(eq(endpoints.id, endpointId)).get();
  if (!endpoint || endpoint.status !== "active") return false;
  const facts = await gatherFacts(env, db, endpoint, `${health.consecutiveFailures} consecutive failed attempts; sends are paused while Ferry probes it.`, health);
  return insertAlert(db, endpoint, "endpoint.circuit_opened", `endpoint.circuit_opened:${endpoint.id}:${health.failingSince}`, facts, circuitOpenedEmail(facts));
}

async function gatherFacts(env: Env, db: Database, endpoint: Endpoint, reason: string, health: HealthState): Promise<EndpointAlertFacts & { recipients: string[] }> {
  const [[project], [waiting]] = await db.batch([
    db.select({ name: projects.name, alertEmails: projects.alertEmails }).from(projects).where(eq(projects.id, endpoint.projectId)),
    db
      .select({ n: count() })
      .from(deliveries)
      .where(and(eq(deliveries.endpointId, endpoint.id), eq(deliveries.status, endpoint.status === "disabled" ? "paused" : "retrying"))),
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
    waitingDeliveries: waiting?.n ?? 0,
    dashboardUrl: settings.dashboardUrl,
    apiUrl: settings.publicApiUrl,
  };
}

async function insertAlert(
  db: Database,
  endpoint: Endpoint,
  kind: (typeof alerts.$inferInsert)["kind"],
  dedupeKey: string,
  facts: { recipients: string[] },
  email: { subject: string; text: string; html: string },
): Promise<boolean> {
  const now = new Date();
  const inserted = await db
    .insert(alerts)
    .values({
      id: newId("alert"),
      projectId: endpoint.projectId,
      endpointId: endpoint.id,
      kind,
      dedupeKey,
      recipients: facts.recipients,
      ...email,
      status: "pending",
      nextAttemptAt: now,
      createdAt: now,
    })
    .onConflictDoNothing({ target: alerts.dedupeKey })
    .returning({ id: alerts.id });
  return inserted.length > 0;
}
