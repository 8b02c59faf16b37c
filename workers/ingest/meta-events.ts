/**
 * @module Operational webhooks: Ferry's own events (endpoint.disabled, endpoint.enabled, delivery.failed)
 * sent to the project's meta endpoint through the ordinary ingest and delivery path, signed like any other.
 */
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../db/client";
import { projects, type Endpoint } from "../db/schema";
import { ingestEvents } from "./ingest";

export type MetaEventType = "endpoint.disabled" | "endpoint.enabled" | "delivery.failed";

/**
 * `idempotencyKey` names the change, so a retried caller emits the event once. Nothing is sent about the
 * meta endpoint itself: its own failures would otherwise feed back into it.
 */
export async function emitMetaEvent(env: Env, subject: Pick<Endpoint, "id" | "projectId">, type: MetaEventType, idempotencyKey: string, data: unknown): Promise<void> {
  // Nothing about a deleted project: its delete job is removing its events.
  const project = await database(env)
    .select({ metaEndpointId: projects.metaEndpointId })
    .from(projects)
    .where(and(eq(projects.id, subject.projectId), isNull(projects.deletedAt)))
    .get();
  if (!project?.metaEndpointId || project.metaEndpointId === subject.id) return;
  await ingestEvents(env, subject.projectId, [{ eventType: type, payload: data, idempotencyKey: `ferry:${idempotencyKey}`, endpointIds: [project.metaEndpointId] }]);
}
