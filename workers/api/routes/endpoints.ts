/**
 * @module Endpoints: CRUD, signing secrets and rotation, enable/disable, and test events.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { emitMetaEvent } from "../../alerts/meta-events";
import { config } from "../../config";
import { database } from "../../db/client";
import { activeSecrets, deleteEndpoint, disableEndpoint, enableEndpoint, findEndpoint, listEndpoints, updateEndpoint } from "../../db/endpoints";
import { newId } from "../../db/ids";
import { endpoints, type Endpoint } from "../../db/schema";
import { endpointHealth, resetEndpointHealth, type EndpointHealthSnapshot } from "../../endpoint-health/client";
import { ingestEvents } from "../../ingest/ingest";
import { checkEndpointUrl } from "../../outbound/url-guard";
import { enqueueDeliveries } from "../../queue/delivery-queue";
import { generateSecret, isValidSecret } from "../../signing/standard-webhooks";
import { projectIdOf } from "../auth";
import type { AppEnv } from "../env";
import { AnyJson, IdParam, ListQuery, errorResponses, iso, jsonBody, jsonResponse, listOf, pageOf, security } from "../openapi";
import { invalidField, notFound } from "../problem";
import { EventAccepted, acceptedOut } from "./events";

/** Set by Ferry on every request; an endpoint may not override them. */
const RESERVED_HEADERS = /^(host|content-length|content-type|user-agent|transfer-encoding|connection|webhook-.*)$/i;
/** fetch() refuses control characters (other than tab) in a value, so such a header could never be sent. */
const HeaderValue = z.string().max(4096).regex(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, "must not contain control characters such as CR or LF");
const EventTypeFilter = z.string().regex(/^[a-zA-Z0-9_\-.]+(\.\*)?$/, "letters, digits, _ - . with an optional trailing .*").max(200);

const endpointFields = {
  url: z.string().max(2048),
  description: z.string().max(500),
  eventTypes: z.array(EventTypeFilter).max(200),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, "not a valid header name").refine((name) => !RESERVED_HEADERS.test(name), "is set by Ferry"), HeaderValue)
    .refine((headers) => Object.keys(headers).length <= 20, "at most 20 headers"),
  timeoutMs: z.number().int().min(1000).max(30_000),
  rateLimitPerSecond: z.number().int().min(1).max(10_000).nullable(),
};

const EndpointIn = z
  .strictObject({
    ...endpointFields,
    description: endpointFields.description.optional(),
    eventTypes: endpointFields.eventTypes.optional(),
    headers: endpointFields.headers.optional(),
    timeoutMs: endpointFields.timeoutMs.optional(),
    rateLimitPerSecond: endpointFields.rateLimitPerSecond.optional(),
    secret: z.string().refine(isValidSecret, "must be whsec_ followed by base64 of 24–64 bytes").optional(),
  })
  .openapi("EndpointIn");
const EndpointPatch = z.strictObject(endpointFields).partial().openapi("EndpointPatch");

const HealthOut = z
  .object({
    circuitState: z.enum(["closed", "open", "half_open"]),
    consecutiveFailures: z.number().int(),
    failingSince: z.string().nullable(),
    circuitReopensAt: z.string().nullable().openapi({ description: "When an open circuit lets a probe through" }),
    lastSuccessAt: z.string().nullable(),
    lastFailureAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
  })
  .openapi("EndpointHealth");

export const EndpointOut = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()),
    headers: z.record(z.string(), z.string()),
    timeoutMs: z.number().int(),
    rateLimitPerSecond: z.number().int().nullable(),
    status: z.enum(["active", "disabled"]),
    disabledReason: z.string().nullable(),
    disabledAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    health: HealthOut.optional(),
  })
  .openapi("Endpoint");

const SecretOut = z.object({ secret: z.string() }).openapi("EndpointSecret");

function endpointOut(endpoint: Endpoint, health?: EndpointHealthSnapshot): z.infer<typeof EndpointOut> {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    headers: endpoint.headers,
    timeoutMs: endpoint.timeoutMs,
    rateLimitPerSecond: endpoint.rateLimitPerSecond,
    status: endpoint.status,
    disabledReason: endpoint.disabledReason,
    disabledAt: iso(endpoint.disabledAt),
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
    ...(health ? { health } : {}),
  };
}

function checkedUrl(env: Env, url: string): string {
  const verdict = checkEndpointUrl(url, config(env));
  if (!verdict.ok) throw invalidField("url", verdict.reason);
  return verdict.url.href;
}

export const endpointRoutes = new OpenAPIHono<AppEnv>();

endpointRoutes.openapi(
  createRoute({
    method: "post",
    path: "/endpoints",
    operationId: "v1.endpoint.create",
    summary: "Create an endpoint; its signing secret is returned",
    security,
    request: { body: jsonBody(EndpointIn) },
    responses: { 201: jsonResponse(EndpointOut.extend({ secret: z.string() }), "Created"), ...errorResponses },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const now = new Date();
    const secret = input.secret ?? generateSecret();
    const row: Endpoint = {
      id: newId("endpoint"),
      projectId: projectIdOf(c.get("principal")),
      url: checkedUrl(c.env, input.url),
      role: "webhook",
      description: input.description ?? "",
      eventTypes: input.eventTypes ?? [],
      headers: input.headers ?? {},
      timeoutMs: input.timeoutMs ?? 15_000,
      rateLimitPerSecond: input.rateLimitPerSecond ?? null,
      secrets: [{ value: secret, createdAt: now.getTime(), expiresAt: null }],
      status: "active",
      disabledReason: null,
      disabledAt: null,
      deletedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await database(c.env).insert(endpoints).values(row);
    return c.json({ ...endpointOut(row), secret }, 201);
  },
);

endpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/endpoints",
    operationId: "v1.endpoint.list",
    summary: "List endpoints with their health, newest first",
    security,
    request: { query: ListQuery },
    responses: { 200: jsonResponse(listOf(EndpointOut), "Endpoints"), ...errorResponses },
  }),
  async (c) => {
    const page = c.req.valid("query");
    const rows = await listEndpoints(database(c.env), projectIdOf(c.get("principal")), page);
    const { items, nextCursor } = pageOf(rows, page.limit, (row) => row.id);
    const health = await Promise.all(items.map((row) => endpointHealth(c.env, row.id)));
    return c.json({ data: items.map((row, i) => endpointOut(row, health[i])), nextCursor }, 200);
  },
);

async function requireEndpoint(c: { env: Env; get: (key: "principal") => AppEnv["Variables"]["principal"] }, id: string) {
  const endpoint = await findEndpoint(database(c.env), projectIdOf(c.get("principal")), id);
  if (!endpoint) throw notFound("endpoint");
  return endpoint;
}

endpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/endpoints/{id}",
    operationId: "v1.endpoint.get",
    summary: "One endpoint with its health",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(EndpointOut, "Endpoint"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    return c.json(endpointOut(endpoint, await endpointHealth(c.env, endpoint.id)), 200);
  },
);

endpointRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/endpoints/{id}",
    operationId: "v1.endpoint.update",
    summary: "Change an endpoint",
    security,
    request: { params: IdParam, body: jsonBody(EndpointPatch) },
    responses: { 200: jsonResponse(EndpointOut, "Updated"), ...errorResponses },
  }),
  async (c) => {
    const patch = c.req.valid("json");
    const changes = { ...patch, ...(patch.url !== undefined ? { url: checkedUrl(c.env, patch.url) } : {}) };
    const updated = await updateEndpoint(database(c.env), projectIdOf(c.get("principal")), c.req.valid("param").id, changes);
    if (!updated) throw notFound("endpoint");
    return c.json(endpointOut(updated), 200);
  },
);

endpointRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/endpoints/{id}",
    operationId: "v1.endpoint.delete",
    summary: "Delete an endpoint; its pending deliveries end as failed",
    security,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses },
  }),
  async (c) => {
    const deleted = await deleteEndpoint(database(c.env), projectIdOf(c.get("principal")), c.req.valid("param").id);
    if (!deleted) throw notFound("endpoint");
    return c.body(null, 204);
  },
);

endpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/endpoints/{id}/secret",
    operationId: "v1.endpoint.get-secret",
    summary: "The current signing secret",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(SecretOut, "Secret"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    return c.json({ secret: endpoint.secrets[0].value }, 200);
  },
);

endpointRoutes.openapi(
  createRoute({
    method: "post",
    path: "/endpoints/{id}/secret/rotate",
    operationId: "v1.endpoint.rotate-secret",
    summary: "Rotate the signing secret; the previous one keeps signing alongside for `graceSeconds` (default 24 h)",
    security,
    request: {
      params: IdParam,
      body: { ...jsonBody(z.strictObject({ graceSeconds: z.number().int().min(0).max(7 * 86400).optional() })), required: false },
    },
    responses: { 200: jsonResponse(SecretOut, "The new secret"), ...errorResponses },
  }),
  async (c) => {
    const endpoint = await requireEndpoint(c, c.req.valid("param").id);
    const now = Date.now();
    const graceMs = (c.req.valid("json")?.graceSeconds ?? 86_400) * 1000;
    const secret = generateSecret();
    const previous = activeSecrets(endpoint.secrets, now).map((s) => ({ ...s, expiresAt: Math.min(s.expiresAt ?? Infinity, now + graceMs) }));
    await updateEndpoint(database(c.env), endpoint.projectId, endpoint.id, {
      secrets: [{ value: secret, createdAt: now, expiresAt: null }, ...previous],
    });
    return c.json({ secret }, 200);
  },
);

endpointRoutes.openapi(
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
    const db = database(c.env);
    await disableEndpoint(db, endpoint.id, c.req.valid("json")?.reason ?? "disabled by hand");
    const current = await findEndpoint(db, endpoint.projectId, endpoint.id);
    return c.json(endpointOut(current!, await endpointHealth(c.env, endpoint.id)), 200);
  },
);

endpointRoutes.openapi(
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
    await resetEndpointHealth(c.env, endpoint.id);
    const { endpoint: enabled, resumedDeliveryIds } = await enableEndpoint(database(c.env), endpoint.projectId, endpoint.id);
    await enqueueDeliveries(c.env, resumedDeliveryIds);
    if (endpoint.status === "disabled") {
      await emitMetaEvent(c.env, endpoint, "endpoint.enabled", `endpoint.enabled:${endpoint.id}:${endpoint.disabledAt?.getTime()}`, {
        endpointId: endpoint.id,
        url: endpoint.url,
        enabledAt: new Date().toISOString(),
        requeuedDeliveries: resumedDeliveryIds.length,
      });
    }
    return c.json(endpointOut(enabled ?? endpoint, await endpointHealth(c.env, endpoint.id)), 200);
  },
);

endpointRoutes.openapi(
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
        endpointIds: [endpoint.id],
      },
    ]);
    return c.json(acceptedOut(result), 202);
  },
);
