/**
 * @module What one step of each job kind does: one bounded chunk (workers/db's `…Chunk` functions, at most
 * `CHUNK_ROWS` rows per statement and a few statements per step), and whether the job is then finished.
 * A step that finds its job overtaken (an enable while the endpoint was disabled again, a pause after it
 * was enabled again) ends it as cancelled: the later request has its own job.
 */
import { emitMetaEvent } from "../ingest/meta-events";
import type { Database } from "../db/client";
import { deleteEndpointsChunk } from "../db/applications";
import { deliveryFilterOf, resendChunk } from "../db/deliveries";
import { CHUNK_ROWS, failPendingChunk, pausePendingChunk, requeuePausedChunk } from "../db/endpoints";
import type { StepOutcome } from "../db/jobs";
import { endpoints, type Job, type JobKind } from "../db/schema";
import { enqueueDeliveries } from "../queue/delivery-queue";
import { projectDeleteStep } from "./project-delete";
import { eq } from "drizzle-orm";

type Step = (env: Env, db: Database, job: Job, now: Date) => Promise<StepOutcome>;

const more = (processed: number, cursor: string | null = null): StepOutcome => ({ processed, cursor, finished: false });
const done = (processed: number, status: "succeeded" | "cancelled" = "succeeded"): StepOutcome => ({ processed, finished: true, status });
/** A chunk statement that changed fewer rows than it may found the last of them. */
const lastChunk = (changed: number) => changed < CHUNK_ROWS;

const endpointStatus = async (db: Database, endpointId: string) =>
  (await db.select({ status: endpoints.status, deletedAt: endpoints.deletedAt }).from(endpoints).where(eq(endpoints.id, endpointId)).get()) ?? null;

export const STEPS: Record<JobKind, Step> = {
  "endpoint.enable": async (env, db, job, now) => {
    const endpointId = job.params.endpointId!;
    const endpoint = await endpointStatus(db, endpointId);
    if (endpoint?.status !== "active" || endpoint.deletedAt) return done(0, "cancelled");
    const ids = await requeuePausedChunk(db, endpointId, now);
    await enqueueDeliveries(env, ids);
    if (!lastChunk(ids.length)) return more(ids.length);
    // Told once everything is back in the queue, with the whole count; the key names the disable it ends.
    if (job.params.disabledAt != null) {
      await emitMetaEvent(env, { id: endpointId, projectId: job.projectId }, "endpoint.enabled", `endpoint.enabled:${endpointId}:${job.params.disabledAt}`, {
        endpointId,
        enabledAt: job.createdAt.toISOString(),
        requeuedDeliveries: job.processed + ids.length,
      });
    }
    return done(ids.length);
  },
  "endpoint.pause": async (_env, db, job, now) => {
    const endpoint = await endpointStatus(db, job.params.endpointId!);
    if (endpoint?.status !== "disabled") return done(0, "cancelled");
    const paused = await pausePendingChunk(db, job.params.endpointId!, now);
    return lastChunk(paused) ? done(paused) : more(paused);
  },
  "endpoint.delete": async (_env, db, job, now) => {
    const failed = await failPendingChunk(db, { endpointId: job.params.endpointId! }, now);
    return lastChunk(failed) ? done(failed) : more(failed);
  },
  "application.delete": async (_env, db, job, now) => {
    const applicationId = job.params.applicationId!;
    const noEndpointsLeft = await deleteEndpointsChunk(db, job.projectId, applicationId, now);
    const failed = await failPendingChunk(db, { projectId: job.projectId, applicationId }, now);
    return noEndpointsLeft && lastChunk(failed) ? done(failed) : more(failed);
  },
  "deliveries.resend": async (env, db, job, now) => {
    const { ids, cursor } = await resendChunk(db, job.projectId, deliveryFilterOf(job.params.filter ?? {}), job.cursor, now);
    await enqueueDeliveries(env, ids);
    return cursor === null ? done(ids.length) : more(ids.length, cursor);
  },
  "project.delete": projectDeleteStep,
};
