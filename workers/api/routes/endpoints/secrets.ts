/**
 * @module Endpoint signing secrets: read the current one, rotate with a grace period for the old one.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { rotateEndpointSecret } from "../../../db/endpoints";
import { generateSecret } from "../../../signing/standard-webhooks";
import type { AppEnv } from "../../env";
import { IdParam, errorResponses, jsonBody, jsonResponse, security } from "../../openapi";
import { SecretOut, requireEndpoint } from "./schemas";

export const endpointSecrets = new OpenAPIHono<AppEnv>();

endpointSecrets.openapi(
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

endpointSecrets.openapi(
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
    const secret = generateSecret();
    await rotateEndpointSecret(c.var.db, endpoint, secret, (c.req.valid("json")?.graceSeconds ?? 86_400) * 1000);
    return c.json({ secret }, 200);
  },
);
