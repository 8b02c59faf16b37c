/**
 * @module Endpoint queries, each scoped by project id first; disabling and enabling move the
 * endpoint's pending deliveries in the same D1 batch.
 */
import { and, desc, eq, inArray, isNull, lt, or } from "drizzle-orm";
import type { Database } from "./client";
import { newId } from "./ids";
import { deliveries, endpoints, type Endpoint, type EndpointSecret } from "./schema";

/** Secrets that still sign: the current one, and rotated ones inside their grace period. */
export function activeSecrets(secrets: readonly EndpointSecret[], now: number): EndpointSecret[] {
  return secrets.filter((secret) => secret.expiresAt === null || secret.expiresAt > now);
}

const live = (projectId: string) => and(eq(endpoints.projectId, projectId), isNull(endpoints.deletedAt));

export type NewEndpoint = Pick<Endpoint, "url" | "applicationId"> &
  Partial<Pick<Endpoint, "uid" | "metadata" | "description" | "eventTypes" | "headers" | "timeoutMs" | "rateLimitPerSecond">> & { secret: string };

/** An active webhook endpoint signing with `secret`; unset fields take Ferry's defaults. */
export async function createEndpoint(db: Database, projectId: string, input: NewEndpoint): Promise<Endpoint> {
  const now = new Date();
  const row: Endpoint = {
    id: newId("endpoint"),
    projectId,
    applicationId: input.applicationId,
    url: input.url,
    role: "webhook",
    description: input.description ?? "",
    uid: input.uid ?? null,
    metadata: input.metadata ?? {},
    eventTypes: input.eventTypes ?? [],
    headers: input.headers ?? {},
    timeoutMs: input.timeoutMs ?? 15_000,
    rateLimitPerSecond: input.rateLimitPerSecond ?? null,
    secrets: [{ value: input.secret, createdAt: now.getTime(), expiresAt: null }],
    status: "active",
    disabledReason: null,
    disabledAt: null,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await db.insert(endpoints).values(row);
  return row;
}

/** An application's endpoint by id or by its uid (uids are unique within the application). */
export function applicationEndpointQuery(db: Database, projectId: string, applicationId: string, idOrUid: string) {
  return db
    .select()
    .from(endpoints)
    .where(and(live(projectId), eq(endpoints.role, "webhook"), eq(endpoints.applicationId, applicationId), or(eq(endpoints.id, idOrUid), eq(endpoints.uid, idOrUid))));
}

export async function findApplicationEndpoint(db: Database, projectId: string, applicationId: string, idOrUid: string): Promise<Endpoint | undefined> {
  return applicationEndpointQuery(db, projectId, applicationId, idOrUid).get();
}

/** Replaces the signing secret; the active ones keep signing alongside until `now + graceMs`. */
export async function rotateEndpointSecret(db: Database, endpoint: Endpoint, secret: string, graceMs: number, now = Date.now()) {
  const previous = activeSecrets(endpoint.secrets, now).map((s) => ({ ...s, expiresAt: Math.min(s.expiresAt ?? Infinity, now + graceMs) }));
  return updateEndpoint(db, endpoint.projectId, endpoint.id, { secrets: [{ value: secret, createdAt: now, expiresAt: null }, ...previous] });
}

export function endpointQuery(db: Database, projectId: string, endpointId: string) {
  return db.select().from(endpoints).where(and(live(projectId), eq(endpoints.id, endpointId)));
}

export async function findEndpoint(db: Database, projectId: string, endpointId: string): Promise<Endpoint | undefined> {
  return endpointQuery(db, projectId, endpointId).get();
}

/** The project's webhook endpoints; its meta endpoint is reached through the project settings. */
export function endpointListQuery(db: Database, projectId: string, page: { limit: number; cursor?: string; applicationId?: string }) {
  return db
    .select()
    .from(endpoints)
    .where(
      and(
        live(projectId),
        eq(endpoints.role, "webhook"),
        page.applicationId ? eq(endpoints.applicationId, page.applicationId) : undefined,
        page.cursor ? lt(endpoints.id, page.cursor) : undefined,
      ),
    )
    .orderBy(desc(endpoints.id))
    .limit(page.limit + 1);
}

export async function listEndpoints(db: Database, projectId: string, page: { limit: number; cursor?: string; applicationId?: string }) {
  return endpointListQuery(db, projectId, page).all();
}

/** Every live endpoint of a project: the fan-out set at ingest. */
export async function projectEndpoints(db: Database, projectId: string): Promise<Endpoint[]> {
  return db.select().from(endpoints).where(live(projectId)).all();
}

export async function updateEndpoint(db: Database, projectId: string, endpointId: string, changes: Partial<Endpoint>) {
  const [row] = await db
    .update(endpoints)
    .set({ ...changes, updatedAt: new Date() })
    .where(and(live(projectId), eq(endpoints.id, endpointId)))
    .returning();
  return row as Endpoint | undefined;
}

const PENDING = ["queued", "retrying"] as const;

/** Soft-deletes; its pending deliveries end as failed since nobody can receive them any more. */
export async function deleteEndpoint(db: Database, projectId: string, endpointId: string): Promise<boolean> {
  const now = new Date();
  const [deleted] = await db.batch([
    db.update(endpoints).set({ deletedAt: now, updatedAt: now }).where(and(live(projectId), eq(endpoints.id, endpointId))).returning({ id: endpoints.id }),
    db
      .update(deliveries)
      .set({ status: "failed", lastError: "endpoint deleted", nextAttemptAt: null, updatedAt: now })
      .where(and(eq(deliveries.projectId, projectId), eq(deliveries.endpointId, endpointId), inArray(deliveries.status, [...PENDING, "paused"]))),
  ]);
  return deleted.length > 0;
}

/**
 * Disables an active endpoint and pauses its pending deliveries. Returns the endpoint only when this call
 * made the change, so a retried disable sends no second alert.
 */
export async function disableEndpoint(db: Database, endpointId: string, reason: string, now = new Date()): Promise<Endpoint | undefined> {
  const [changed] = await db.batch([
    db
      .update(endpoints)
      .set({ status: "disabled", disabledReason: reason, disabledAt: now, updatedAt: now })
      .where(and(eq(endpoints.id, endpointId), eq(endpoints.status, "active"), isNull(endpoints.deletedAt)))
      .returning(),
    db
      .update(deliveries)
      .set({ status: "paused", updatedAt: now })
      .where(and(eq(deliveries.endpointId, endpointId), inArray(deliveries.status, PENDING))),
  ]);
  return changed[0];
}

/** Re-activates an endpoint; its paused deliveries become due now. Returns their ids for enqueuing. */
export async function enableEndpoint(db: Database, projectId: string, endpointId: string, now = new Date()) {
  const [changed, resumed] = await db.batch([
    db
      .update(endpoints)
      .set({ status: "active", disabledReason: null, disabledAt: null, updatedAt: now })
      .where(and(live(projectId), eq(endpoints.id, endpointId)))
      .returning(),
    db
      .update(deliveries)
      .set({ status: "queued", scheduleStep: 0, nextAttemptAt: now, enqueuedAt: now, updatedAt: now })
      .where(and(eq(deliveries.projectId, projectId), eq(deliveries.endpointId, endpointId), eq(deliveries.status, "paused")))
      .returning({ id: deliveries.id }),
  ]);
  return { endpoint: changed[0] as Endpoint | undefined, resumedDeliveryIds: resumed.map((row) => row.id) };
}
