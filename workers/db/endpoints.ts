/**
 * @module Endpoint queries, each scoped by project id first. Disabling, enabling and deleting change the
 * endpoint and record a job (workers/jobs/) in one D1 batch; the job then moves its deliveries a bounded
 * chunk at a time with the `…Chunk` functions here.
 */
import { and, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "./client";
import { newId } from "./ids";
import { insertJobIf, newJob } from "./jobs";
import { deliveries, endpoints, type DeliveryStatus, type Endpoint, type EndpointSecret, type Job } from "./schema";

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
/** What a delete fails: everything not finished and not in the middle of a send. */
const UNFINISHED = [...PENDING, "paused"] as const;

/**
 * Rows one bulk statement changes at most. Each chunk statement picks its rows with `LIMIT` on the
 * `(endpoint_id, status)` index, and the rows it changes leave that status, so the next chunk starts
 * where this one ended without a cursor and no statement reads more than it changes.
 */
export const CHUNK_ROWS = 1_000;

/**
 * Soft-deletes the endpoint (fan-out and the API stop seeing it at once) and records the job that fails
 * its pending deliveries in chunks (`failPendingChunk`), in one batch. Returns the job, or nothing when there was
 * no such endpoint.
 */
export async function deleteEndpoint(db: Database, projectId: string, endpointId: string, now = new Date()): Promise<Job | undefined> {
  const job = newJob(projectId, "endpoint.delete", { endpointId }, now);
  const [deleted] = await db.batch([
    db.update(endpoints).set({ deletedAt: now, updatedAt: now }).where(and(live(projectId), eq(endpoints.id, endpointId))).returning({ id: endpoints.id }),
    insertJobIf(db, job, sql`exists (select 1 from ${endpoints} where ${endpoints.id} = ${endpointId} and ${endpoints.deletedAt} = ${now.getTime()})`),
  ]);
  return deleted.length > 0 ? job : undefined;
}

/**
 * One chunk of the pending deliveries of a deleted endpoint, or of every endpoint of a deleted application,
 * end as failed, since nobody can receive them any more. Returns how many.
 */
export async function failPendingChunk(db: Database, of: { endpointId: string } | { projectId: string; applicationId: string }, now = new Date()): Promise<number> {
  const endpointsOf =
    "endpointId" in of
      ? eq(deliveries.endpointId, of.endpointId)
      : inArray(deliveries.endpointId, db.select({ id: endpoints.id }).from(endpoints).where(and(eq(endpoints.projectId, of.projectId), eq(endpoints.applicationId, of.applicationId))));
  const chunk = db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(endpointsOf, inArray(deliveries.status, UNFINISHED)))
    .limit(CHUNK_ROWS);
  const rows = await db
    .update(deliveries)
    .set({ status: "failed", lastError: "endpoint deleted", nextAttemptAt: null, updatedAt: now })
    .where(and(inArray(deliveries.id, chunk), inArray(deliveries.status, UNFINISHED)))
    .returning({ id: deliveries.id });
  return rows.length;
}

/**
 * Disables an active endpoint, pauses the first chunk of its pending deliveries and records the job that
 * pauses the rest (`pausePendingChunk`), in one batch. Returns the endpoint and the job only when this call made
 * the change, so a retried disable sends no second alert; start the job with `enqueueJobStep` (workers/queue/).
 */
export async function disableEndpoint(db: Database, endpointId: string, reason: string, now = new Date()): Promise<{ endpoint: Endpoint; pauseJob: Job } | undefined> {
  const flipped = sql`exists (select 1 from ${endpoints} where ${endpoints.id} = ${endpointId} and ${endpoints.status} = 'disabled' and ${endpoints.disabledAt} = ${now.getTime()})`;
  const current = await db.select({ projectId: endpoints.projectId }).from(endpoints).where(eq(endpoints.id, endpointId)).get();
  if (!current) return undefined;
  const job = newJob(current.projectId, "endpoint.pause", { endpointId }, now);
  const [changed] = await db.batch([
    db
      .update(endpoints)
      .set({ status: "disabled", disabledReason: reason, disabledAt: now, updatedAt: now })
      .where(and(eq(endpoints.id, endpointId), eq(endpoints.status, "active"), isNull(endpoints.deletedAt)))
      .returning(),
    pausePendingStatement(db, endpointId, now),
    insertJobIf(db, job, flipped),
  ]);
  return changed[0] ? { endpoint: changed[0], pauseJob: job } : undefined;
}

const chunkOf = (db: Database, endpointId: string, statuses: readonly DeliveryStatus[]) =>
  db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(eq(deliveries.endpointId, endpointId), inArray(deliveries.status, [...statuses])))
    .limit(CHUNK_ROWS);

const pausePendingStatement = (db: Database, endpointId: string, now: Date) =>
  db
    .update(deliveries)
    .set({ status: "paused", updatedAt: now })
    .where(and(inArray(deliveries.id, chunkOf(db, endpointId, PENDING)), inArray(deliveries.status, PENDING)))
    .returning({ id: deliveries.id });

/** One chunk of a disabled endpoint's pending deliveries wait as paused; returns how many. */
export async function pausePendingChunk(db: Database, endpointId: string, now = new Date()): Promise<number> {
  return (await pausePendingStatement(db, endpointId, now)).length;
}

/**
 * Re-activates an endpoint and records the job that re-queues its paused deliveries (`requeuePausedChunk`),
 * in one batch. Returns the endpoint as it now is and the job, or nothing when there is no such endpoint.
 */
export async function enableEndpoint(db: Database, endpoint: Endpoint, now = new Date()): Promise<{ endpoint: Endpoint; requeueJob: Job } | undefined> {
  const job = newJob(endpoint.projectId, "endpoint.enable", { endpointId: endpoint.id, disabledAt: endpoint.disabledAt?.getTime() ?? null }, now);
  const [changed] = await db.batch([
    db
      .update(endpoints)
      .set({ status: "active", disabledReason: null, disabledAt: null, updatedAt: now })
      .where(and(live(endpoint.projectId), eq(endpoints.id, endpoint.id)))
      .returning(),
    insertJobIf(db, job, sql`exists (select 1 from ${endpoints} where ${endpoints.id} = ${endpoint.id} and ${endpoints.deletedAt} is null)`),
  ]);
  return changed[0] ? { endpoint: changed[0], requeueJob: job } : undefined;
}

/** One chunk of an enabled endpoint's paused deliveries become due now; returns their ids for enqueuing. */
export async function requeuePausedChunk(db: Database, endpointId: string, now = new Date()): Promise<string[]> {
  const rows = await db
    .update(deliveries)
    .set({ status: "queued", scheduleStep: 0, nextAttemptAt: now, enqueuedAt: now, updatedAt: now })
    .where(and(inArray(deliveries.id, chunkOf(db, endpointId, ["paused"])), eq(deliveries.status, "paused")))
    .returning({ id: deliveries.id });
  return rows.map((row) => row.id);
}
