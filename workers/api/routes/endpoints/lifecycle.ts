/**
 * @module Endpoint lifecycle: disable and enable by hand (recovering paused deliveries), and test events.
 * Both answer at once; the deliveries they move are moved by a job (workers/jobs/) in bounded steps.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { database } from "../../../db/client";
import { disableEndpoint, enableEndpoint, findEndpoint } from "../../../db/endpoints";
import { endpointHealth, resetEndpointHealth } from "../../../endpoint-health/client";
import { ingestEvents } from "../../../ingest/ingest";
import { enqueueJobStep } from "../../../queue/delivery-queue";
import type { Endpoint } from "../../../db/schema";
import type { AppEnv } from "../../env";
import { AnyJson, IdParam, errorResponses, jsonBody, jsonResponse, security } from "../../openapi";
import { notFound } from "../../problem";
import { EventAccepted, acceptedOut } from "../events";
import { jobIdField } from "../jobs";
import { EndpointOut, endpointOut, requireEndpoint } from "./schemas";
import { ingestOptions } from "../../ingest-context";

/**
 * Disables the endpoint: the flip and the first chunk of its pending deliveries (now paused) commit
 * together, and a job pauses the rest. Answers the endpoint as it now is, with the job when this call
 * disabled it (null when it already was disabled).
 */
export async function disableByHand(env: Env, endpoint: Endpoint, reason: string): Promise<{ endpoint: Endpoint; jobId: string | null }> {
  const db = database(env);
  const disabled = await disableEndpoint(db, endpoint.id, reason);
  if (disabled) await enqueueJobStep(env, disabled.pauseJob.id);
  return { endpoint: disabled?.endpoint ?? (await findEndpoint(db, endpoint.projectId, endpoint.id)) ?? endpoint, jobId: disabled?.pauseJob.id ?? null };
}

/**
 * Resets its health and re-activates it; a job re-queues its paused deliveries a chunk at a time and, if it
 * was disabled, tells the meta endpoint once they are all queued again.
 */
export async function enableByHand(env: Env, endpoint: Endpoint): Promise<{ endpoint: Endpoint; jobId: string }> {
  await resetEndpointHealth(env, endpoint.id);
  const enabled = await enableEndpoint(database(env), endpoint);
  if (!enabled) throw notFound("endpoint");
  await enqueueJobStep(env, enabled.requeueJob.id);
  return { endpoint: enabled.endpoint, jobId: enabled.requeueJob.id };
}

export const endpointLifecycle = new OpenAPIHono<AppEnv>();

endpointLifecycle.openapi(
  createRoute({
    method: "post",
    path: "/endpoints/{id}/disable",
    operationId: "v1.endpoint.disable",
    summary: "Disable by hand; deliveries are kept as paused until it is enabled",
    security,
    request: { params: IdParam, body: { ...jsonBody(z.strictObject({ reason: z.string().max(500).optional() })), required: false } },
    responses: {
      200: jsonResponse(
        EndpointOut.extend({ jobId: jobIdField.nullable().openapi({ description: "The job pausing its pending deliveries (GET /jobs/{id}); null when it was already disabled" }) }).openapi("EndpointDisabled"),
        "Disabled",
      ),
      ...errorResponses,
    },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    const { endpoint: current, jobId } = await disableByHand(c.env, endpoint, c.req.valid("json")?.reason ?? "disabled by hand");
    return c.json({ ...endpointOut(current, await endpointHealth(c.env, endpoint.id)), jobId }, 200);
  },
);

endpointLifecycle.openapi(
  createRoute({
    method: "post",
    path: "/endpoints/{id}/enable",
    operationId: "v1.endpoint.enable",
    summary: "Re-enable: resets its health at once; a job re-queues every paused delivery",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(EndpointOut.extend({ jobId: jobIdField }).openapi("EndpointEnabled"), "Enabled"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    const { endpoint: enabled, jobId } = await enableByHand(c.env, endpoint);
    return c.json({ ...endpointOut(enabled, await endpointHealth(c.env, endpoint.id)), jobId }, 200);
  },
);

endpointLifecycle.openapi(
  createRoute({
    method: "post",
    path: "/endpoints/{id}/test",
    operationId: "v1.endpoint.send-test",
    summary: "Send a test event to this endpoint only",
    security,
    request: {
      params: IdParam,
      body: {
        ...jsonBody(z.strictObject({ eventType: z.string().max(200).optional(), payload: AnyJson("Sent as `data`; a sample payload when omitted").optional() })),
        required: false,
      },
    },
    responses: { 202: jsonResponse(EventAccepted, "Accepted"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    const input = c.req.valid("json") ?? {};
    const [result] = await ingestEvents(c.env, endpoint.projectId, [
      {
        eventType: input.eventType ?? "ferry.test",
        payload: input.payload ?? { message: "A test event from Ferry", endpointId: endpoint.id, sentAt: new Date().toISOString() },
        applicationId: endpoint.applicationId ?? undefined,
        endpointIds: [endpoint.id],
      },
    ], ingestOptions(c));
    return c.json(acceptedOut(result), 202);
  },
);
