/**
 * @module Endpoints: create, list, read, change, delete.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { createEndpoint, deleteEndpoint, listEndpoints, updateEndpoint } from "../../../db/endpoints";
import { endpointHealth } from "../../../endpoint-health/client";
import { enqueueJobStep } from "../../../queue/delivery-queue";
import { generateSecret } from "../../../signing/standard-webhooks";
import type { AppEnv } from "../../env";
import { ApplicationQuery, IdParam, ListQuery, errorResponses, jsonBody, jsonResponse, listOf, pageOf, security } from "../../openapi";
import { notFound } from "../../problem";
import { applicationFilter, portalGrantOf, requireApplication } from "../../scope";
import { jobIdField } from "../jobs";
import { EndpointIn, EndpointOut, EndpointPatch, checkedUrl, endpointOut, requireEndpoint } from "./schemas";

export const endpointCrud = new OpenAPIHono<AppEnv>();

endpointCrud.openapi(
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
    const principal = c.get("principal");
    const secret = input.secret ?? generateSecret();
    const requested = portalGrantOf(principal)?.applicationId ?? input.applicationId;
    const application = requested ? await requireApplication(c, requested) : undefined;
    const row = await createEndpoint(c.var.db, c.var.projectId, {
      ...input,
      applicationId: application?.id ?? null,
      url: checkedUrl(c.env, input.url),
      rateLimitPerSecond: input.rateLimitPerSecond === undefined ? (application?.rateLimitPerSecond ?? null) : input.rateLimitPerSecond,
      secret,
    });
    return c.json({ ...endpointOut(row), secret }, 201);
  },
);

endpointCrud.openapi(
  createRoute({
    method: "get",
    path: "/endpoints",
    operationId: "v1.endpoint.list",
    summary: "List endpoints with their health, newest first",
    security,
    request: { query: ListQuery.extend({ application: ApplicationQuery }) },
    responses: { 200: jsonResponse(listOf(EndpointOut), "Endpoints"), ...errorResponses },
  }),
  async (c) => {
    const { application, ...page } = c.req.valid("query");
    const applicationId = await applicationFilter(c, application);
    const rows = await listEndpoints(c.var.db, c.var.projectId, { ...page, applicationId });
    const { items, nextCursor } = pageOf(rows, page.limit, (row) => row.id);
    const health = await Promise.all(items.map((row) => endpointHealth(c.env, row.id)));
    return c.json({ data: items.map((row, i) => endpointOut(row, health[i])), nextCursor }, 200);
  },
);

endpointCrud.openapi(
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

endpointCrud.openapi(
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
    await requireEndpoint(c, c.req.valid("param").id);
    const changes = { ...patch, ...(patch.url !== undefined ? { url: checkedUrl(c.env, patch.url) } : {}) };
    const updated = await updateEndpoint(c.var.db, c.var.projectId, c.req.valid("param").id, changes);
    if (!updated) throw notFound("endpoint");
    return c.json(endpointOut(updated), 200);
  },
);

endpointCrud.openapi(
  createRoute({
    method: "delete",
    path: "/endpoints/{id}",
    operationId: "v1.endpoint.delete",
    summary: "Delete an endpoint at once; its pending deliveries end as failed in a job that keeps going after the answer",
    security,
    request: { params: IdParam },
    responses: { 202: jsonResponse(z.object({ jobId: jobIdField }), "Deleted; its pending deliveries are being failed"), ...errorResponses },
  }),
  async (c) => {
    await requireEndpoint(c, c.req.valid("param").id);
    const job = await deleteEndpoint(c.var.db, c.var.projectId, c.req.valid("param").id);
    if (!job) throw notFound("endpoint");
    await enqueueJobStep(c.env, job.id);
    return c.json({ jobId: job.id }, 202);
  },
);
