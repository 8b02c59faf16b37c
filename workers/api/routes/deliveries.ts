/**
 * @module Deliveries: the filtered log, one delivery with every attempt, single and bulk resend (a job).
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { sentAttempt, type SentAttempt } from "../../db/attempts";
import { eventBody } from "../../db/bodies";
import { database } from "../../db/client";
import { countResendable, findDeliveryWithAttempts, listDeliveries, resetForResend, storedFilter, type DeliveryFilter } from "../../db/deliveries";
import { insertJob, newJob } from "../../db/jobs";
import { DELIVERY_STATUSES, type Delivery, type Job } from "../../db/schema";
import { enqueueDeliveries, enqueueJobStep } from "../../queue/delivery-queue";
import { applicationFilter, portalGrantOf, requireInScope } from "../scope";
import type { AppEnv } from "../env";
import { ApplicationQuery, IdParam, ListQuery, TimeRangeQuery, errorResponses, iso, jsonBody, jsonResponse, listOf, pageOf, security } from "../openapi";
import { Problem, notFound } from "../problem";
import { jobIdField } from "./jobs";

export const DeliveryOut = z
  .object({
    id: z.string(),
    eventId: z.string(),
    endpointId: z.string(),
    endpointUrl: z.string(),
    applicationId: z.string().nullable(),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attemptCount: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Delivery");

const AttemptOut = z
  .object({
    id: z.string(),
    attempt: z.number().int(),
    trigger: z.enum(["scheduled", "manual"]),
    startedAt: z.string(),
    durationMs: z.number().int(),
    request: z.object({ url: z.string(), headers: z.record(z.string(), z.string()), body: z.string() }),
    response: z.object({ status: z.number().int(), headers: z.record(z.string(), z.string()), body: z.string(), bodyTruncated: z.boolean() }).nullable(),
    error: z.string().nullable(),
  })
  .openapi("Attempt");

export function deliveryOut(delivery: Delivery, endpointUrl: string): z.infer<typeof DeliveryOut> {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    endpointId: delivery.endpointId,
    endpointUrl,
    applicationId: delivery.applicationId,
    eventType: delivery.eventType,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    nextAttemptAt: iso(delivery.nextAttemptAt),
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    lastAttemptAt: iso(delivery.lastAttemptAt),
    createdAt: delivery.createdAt.toISOString(),
    updatedAt: delivery.updatedAt.toISOString(),
  };
}

const attemptOut = (attempt: SentAttempt, body: string): z.infer<typeof AttemptOut> => ({
  id: attempt.id,
  attempt: attempt.attempt,
  trigger: attempt.trigger,
  startedAt: attempt.startedAt.toISOString(),
  durationMs: attempt.durationMs,
  request: { ...attempt.request, body },
  response: attempt.response ?? null,
  error: attempt.error,
});

const DeliveryFilterQuery = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  endpointId: z.string().max(64).optional(),
  application: ApplicationQuery,
  eventId: z.string().max(64).optional(),
  eventType: z.string().max(200).optional(),
  ...TimeRangeQuery.shape,
});

async function toFilter(c: Context<AppEnv>, { application, ...query }: z.infer<typeof DeliveryFilterQuery>): Promise<DeliveryFilter> {
  return {
    ...query,
    applicationId: await applicationFilter(c, application),
    since: query.since ? new Date(query.since) : undefined,
    until: query.until ? new Date(query.until) : undefined,
  };
}

/** Records a bulk resend job and sends its first step; the request answers without waiting for it. */
export async function startBulkResend(env: Env, projectId: string, filter: DeliveryFilter): Promise<Job> {
  const job = newJob(projectId, "deliveries.resend", { filter: storedFilter(filter) });
  await insertJob(database(env), job);
  await enqueueJobStep(env, job.id);
  return job;
}

export const deliveryRoutes = new OpenAPIHono<AppEnv>();

deliveryRoutes.openapi(
  createRoute({
    method: "get",
    path: "/deliveries",
    operationId: "v1.delivery.list",
    summary: "List deliveries, newest first",
    security,
    request: { query: ListQuery.extend(DeliveryFilterQuery.shape) },
    responses: { 200: jsonResponse(listOf(DeliveryOut), "Deliveries"), ...errorResponses },
  }),
  async (c) => {
    const { limit, cursor, ...filter } = c.req.valid("query");
    const rows = await listDeliveries(c.var.db, c.var.projectId, await toFilter(c, filter), { limit, cursor });
    const { items, nextCursor } = pageOf(rows, limit, (row) => row.delivery.id);
    return c.json({ data: items.map((row) => deliveryOut(row.delivery, row.endpointUrl)), nextCursor }, 200);
  },
);

deliveryRoutes.openapi(
  createRoute({
    method: "get",
    path: "/deliveries/{id}",
    operationId: "v1.delivery.get",
    summary: "One delivery with every attempt: what was sent and what came back",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(DeliveryOut.extend({ attempts: z.array(AttemptOut) }), "Delivery"), ...errorResponses },
  }),
  async (c) => {
    const found = await findDeliveryWithAttempts(c.var.db, c.var.projectId, c.req.valid("param").id);
    if (!found) throw notFound("delivery");
    requireInScope(c, found.delivery.applicationId, "delivery");
    const [body, attempts] = await Promise.all([
      eventBody(c.env, { id: found.delivery.eventId, body: found.body }),
      Promise.all(found.attempts.map((row) => sentAttempt(c.env, row, found.delivery.eventId))),
    ]);
    return c.json({ ...deliveryOut(found.delivery, found.endpointUrl), attempts: attempts.map((a) => attemptOut(a, body)) }, 200);
  },
);

deliveryRoutes.openapi(
  createRoute({
    method: "post",
    path: "/deliveries/{id}/resend",
    operationId: "v1.delivery.resend",
    summary: "Send again now, whatever the status, with a fresh retry schedule",
    security,
    request: { params: IdParam },
    responses: { 202: jsonResponse(DeliveryOut, "Queued"), 409: errorResponses[422], ...errorResponses },
  }),
  async (c) => {
    const principal = c.get("principal");
    const projectId = c.var.projectId;
    const id = c.req.valid("param").id;
    const db = c.var.db;
    const [queued] = await resetForResend(db, projectId, { ids: [id], applicationId: portalGrantOf(principal)?.applicationId });
    const found = await findDeliveryWithAttempts(db, projectId, id);
    if (!found) throw notFound("delivery");
    requireInScope(c, found.delivery.applicationId, "delivery");
    if (!queued) {
      throw new Problem(
        "conflict",
        found.delivery.status === "paused" ? "The endpoint is disabled; enable it to resume its deliveries." : "The delivery is being sent right now; try again in a moment.",
      );
    }
    await enqueueDeliveries(c.env, [queued]);
    return c.json(deliveryOut(found.delivery, found.endpointUrl), 202);
  },
);

deliveryRoutes.openapi(
  createRoute({
    method: "post",
    path: "/deliveries/resend",
    operationId: "v1.delivery.bulk-resend",
    summary: "Resend every delivery matching the filter (e.g. all failed to one endpoint since yesterday); `dryRun` only counts them",
    security,
    request: {
      body: jsonBody(
        z.strictObject({ ...DeliveryFilterQuery.shape, dryRun: z.boolean().optional().openapi({ description: "Count what would be resent; change nothing" }) }),
      ),
    },
    responses: {
      200: jsonResponse(z.object({ count: z.number().int() }), "Dry run: how many would be resent"),
      202: jsonResponse(
        z.object({ count: z.number().int().openapi({ description: "How many matched when it was asked" }), jobId: jobIdField }),
        "Accepted: a job resends them in bounded steps",
      ),
      ...errorResponses,
    },
  }),
  async (c) => {
    const { dryRun, ...query } = c.req.valid("json");
    const projectId = c.var.projectId;
    const filter = await toFilter(c, query);
    const count = await countResendable(c.var.db, projectId, { filter });
    if (dryRun) return c.json({ count }, 200);
    const job = await startBulkResend(c.env, projectId, filter);
    return c.json({ count, jobId: job.id }, 202);
  },
);
