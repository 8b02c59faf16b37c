/**
 * @module Endpoint wire schemas and the helpers every endpoint route shares.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { config } from "../../../config";
import { findEndpoint } from "../../../db/endpoints";
import type { Endpoint } from "../../../db/schema";
import type { EndpointHealthSnapshot } from "../../../endpoint-health/client";
import { checkEndpointUrl } from "../../../outbound/url-guard";
import { isValidSecret } from "../../../signing/standard-webhooks";
import type { AppEnv } from "../../env";
import { iso } from "../../openapi";
import { requireInScope } from "../../scope";
import { invalidField, notFound } from "../../problem";

/** Set by Ferry on every request; an endpoint may not override them. */
const RESERVED_HEADERS = /^(host|content-length|content-type|user-agent|transfer-encoding|connection|webhook-.*)$/i;
/** fetch() refuses control characters (other than tab) in a value, so such a header could never be sent. */
const HeaderValue = z.string().max(4096).regex(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, "must not contain control characters such as CR or LF");
const EventTypeFilter = z.string().regex(/^[a-zA-Z0-9_\-.]+(\.\*)?$/, "letters, digits, _ - . with an optional trailing .*").max(200);

/** The rules for each endpoint field, shared with the Svix API. */
export const endpointFields = {
  url: z.string().max(2048),
  description: z.string().max(500),
  eventTypes: z.array(EventTypeFilter).max(200),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, "not a valid header name").refine((name) => !RESERVED_HEADERS.test(name), "is set by Ferry"), HeaderValue)
    .refine((headers) => Object.keys(headers).length <= 20, "at most 20 headers"),
  timeoutMs: z.number().int().min(1000).max(30_000),
  rateLimitPerSecond: z.number().int().min(1).max(10_000).nullable(),
};

export const EndpointIn = z
  .strictObject({
    ...endpointFields,
    description: endpointFields.description.optional(),
    eventTypes: endpointFields.eventTypes.optional(),
    headers: endpointFields.headers.optional(),
    timeoutMs: endpointFields.timeoutMs.optional(),
    rateLimitPerSecond: endpointFields.rateLimitPerSecond.optional(),
    secret: z.string().refine(isValidSecret, "must be whsec_ followed by base64 of 24–64 bytes").optional(),
    applicationId: z.string().min(1).max(256).optional().openapi({ description: "The application (id or uid) it belongs to; it then gets only that application's events" }),
  })
  .openapi("EndpointIn");
export const EndpointPatch = z.strictObject(endpointFields).partial().openapi("EndpointPatch");

const HealthOut = z
  .object({
    circuitState: z.enum(["closed", "open", "half_open"]),
    consecutiveFailures: z.number().int(),
    failingSince: z.string().nullable(),
    circuitReopensAt: z.string().nullable().openapi({ description: "When an open circuit lets a probe through" }),
    slow: z.boolean().openapi({ description: "Its last attempt took 5 s or more: its sends run in a lane of their own" }),
    lastSuccessAt: z.string().nullable(),
    lastFailureAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
  })
  .openapi("EndpointHealth");

export const EndpointOut = z
  .object({
    id: z.string(),
    applicationId: z.string().nullable(),
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

export const SecretOut = z.object({ secret: z.string() }).openapi("EndpointSecret");

export function endpointOut(endpoint: Endpoint, health?: EndpointHealthSnapshot): z.infer<typeof EndpointOut> {
  return {
    id: endpoint.id,
    applicationId: endpoint.applicationId,
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

export function checkedUrl(env: Env, url: string): string {
  const verdict = checkEndpointUrl(url, config(env));
  if (!verdict.ok) throw invalidField("url", verdict.reason);
  return verdict.url.href;
}

/** The endpoint `id` of the calling project (and of a portal session's application), or a 404. */
export async function requireEndpoint(c: Pick<Context<AppEnv>, "get" | "var">, id: string) {
  const endpoint = await findEndpoint(c.var.db, c.var.projectId, id);
  if (!endpoint) throw notFound("endpoint");
  requireInScope(c, endpoint.applicationId, "endpoint");
  return endpoint;
}
