/**
 * @module Endpoint lifecycle: disable and enable by hand (recovering paused deliveries), and test events.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { database } from "../../../db/client";
import { disableEndpoint, enableEndpoint, findEndpoint } from "../../../db/endpoints";
import { endpointHealth, resetEndpointHealth } from "../../../endpoint-health/client";
import { ingestEvents } from "../../../ingest/ingest";
import { emitMetaEvent } from "../../../ingest/meta-events";
import { enqueueDeliveries } from "../../../queue/delivery-queue";
import type { Endpoint } from "../../../db/schema";
import type { AppEnv } from "../../env";
import { AnyJson, IdParam, errorResponses, jsonBody, jsonResponse, security } from "../../openapi";
import { EventAccepted, acceptedOut } from "../events";
import { EndpointOut, endpointOut, requireEndpoint } from "./schemas";

/** Disables the endpoint (its pending deliveries wait as paused) and answers it as it now is. */
export async function disableByHand(env: Env, endpoint: Endpoint, reason: string): Promise<Endpoint> {
  const db = database(env);
  await disableEndpoint(db, endpoint.id, reason);
  return (await findEndpoint(db, endpoint.projectId, endpoint.id)) ?? endpoint;
}

/** Resets its health, re-queues every paused delivery and, if it was disabled, says so to the meta endpoint. */
export async function enableByHand(env: Env, endpoint: Endpoint): Promise<Endpoint> {
  await resetEndpointHealth(env, endpoint.id);
  const { endpoint: enabled, resumedDeliveryIds } = await enableEndpoint(database(env), endpoint.projectId, endpoint.id);
  await enqueueDeliveries(env, resumedDeliveryIds);
  if (endpoint.status === "disabled") {
    await emitMetaEvent(env, endpoint, "endpoint.enabled", `endpoint.enabled:${endpoint.id}:${endpoint.disabledAt?.getTime()}`, {
      endpointId: endpoint.id,
      url: endpoint.url,
      enabledAt: new Date().toISOString(),
      requeuedDeliveries: resumedDeliveryIds.length,
    });
  }
  return enabled ?? endpoint;
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
    responses: { 200: jsonResponse(EndpointOut, "Disabled"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    const current = await disableByHand(c.env, endpoint, c.req.valid("json")?.reason ?? "disabled by hand");
    return c.json(endpointOut(current, await endpointHealth(c.env, endpoint.id)), 200);
  },
);

endpointLifecycle.openapi(
  createRoute({
    method: "post",
    path: "/endpoints/{id}/enable",
    operationId: "v1.endpoint.enable",
    summary: "Re-enable: resets its health and re-queues every paused delivery",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(EndpointOut, "Enabled"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    return c.json(endpointOut(await enableByHand(c.env, endpoint), await endpointHealth(c.env, endpoint.id)), 200);
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
    ]);
    return c.json(acceptedOut(result), 202);
  },
);
