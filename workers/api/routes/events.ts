/**
 * @module Events: ingest (single and batch, idempotent), the filtered list, one event with its deliveries.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { config } from "../../config";
import { eventBody } from "../../db/bodies";
import { database } from "../../db/client";
import { projectEndpoints } from "../../db/endpoints";
import { deliveryCounts, eventTypes, findEventWithDeliveries, listEvents } from "../../db/events";
import { DELIVERY_STATUSES } from "../../db/schema";
import { ingestEvents, payloadOf, type EventInput, type IngestResult } from "../../ingest/ingest";
import type { AppEnv } from "../env";
import { findApplications } from "../../db/applications";
import { applicationFilter, requireInScope } from "../scope";
import { AnyJson, ApplicationQuery, IdParam, ListQuery, TimeRangeQuery, errorResponses, jsonBody, jsonResponse, listOf, pageOf, security } from "../openapi";
import { Problem, fieldPath, invalidField, notFound } from "../problem";
import { DeliveryOut, deliveryOut } from "./deliveries";
import { ingestOptions } from "../ingest-context";

const EventType = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[a-zA-Z0-9_\-.]+$/, "letters, digits, _ - and . only (e.g. invoice.paid)");

const EventIn = z
  .strictObject({
    eventType: EventType,
    payload: AnyJson("Any JSON; sent as `data`"),
    idempotencyKey: z.string().min(1).max(255).optional(),
    application: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .openapi({ description: "The application (id or uid) it is for: it goes to that application's endpoints only. Without it, only to endpoints of no application" }),
    endpointIds: z.array(z.string().max(64)).min(1).max(100).optional().openapi({ description: "Send only to these endpoints" }),
  })
  .openapi("EventIn");

const BATCH_LIMIT = 100;
const BatchIn = z.strictObject({ events: z.array(EventIn).min(1).max(BATCH_LIMIT) }).openapi("EventBatchIn");

export const EventAccepted = z
  .object({
    id: z.string(),
    eventType: z.string(),
    createdAt: z.string(),
    deliveries: z.array(z.object({ id: z.string(), endpointId: z.string(), status: z.enum(DELIVERY_STATUSES) })),
  })
  .openapi("EventAccepted");

export const acceptedOut = ({ event, deliveries }: IngestResult): z.infer<typeof EventAccepted> => ({
  id: event.id,
  eventType: event.eventType,
  createdAt: event.createdAt.toISOString(),
  deliveries: deliveries.map(({ id, endpointId, status }) => ({ id, endpointId, status })),
});

const DeliveryCounts = z.object(Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof DELIVERY_STATUSES)[number], z.ZodNumber>);

const EventListItem = z
  .object({ id: z.string(), eventType: z.string(), applicationId: z.string().nullable(), idempotencyKey: z.string().nullable(), createdAt: z.string(), deliveryCounts: DeliveryCounts })
  .openapi("EventListItem");

const EventOut = z
  .object({ id: z.string(), eventType: z.string(), applicationId: z.string().nullable(), idempotencyKey: z.string().nullable(), createdAt: z.string(), payload: AnyJson("The event's payload"), deliveries: z.array(DeliveryOut) })
  .openapi("Event");

type EventRequest = z.infer<typeof EventIn>;

/**
 * Payload size limit, application and endpoint ownership: checks zod cannot make alone. Throws before
 * anything is written; returns the inputs with each `application` resolved to its id. Each payload is
 * serialised here once; ingest builds the webhook body from that JSON.
 */
async function checkEvents(env: Env, projectId: string, requests: EventRequest[], pathOf: (i: number) => (string | number)[]): Promise<EventInput[]> {
  const limit = config(env).maxPayloadBytes;
  const named = requests.flatMap((request) => request.application ?? []);
  const applications = named.length > 0 ? await findApplications(database(env), projectId, named) : new Map();
  const inputs: EventInput[] = requests.map(({ application, ...request }, i) => {
    if (application === undefined) return request;
    const found = applications.get(application);
    if (!found) throw invalidField(fieldPath([...pathOf(i), "application"]), "no such application");
    return { ...request, applicationId: found.id };
  });
  inputs.forEach((input, i) => {
    const json = (input.payloadJson = JSON.stringify(input.payload));
    // A UTF-16 unit is at most 3 UTF-8 bytes, so most payloads need no encoding to be measured.
    const size = json.length * 3 <= limit ? json.length : new TextEncoder().encode(json).byteLength;
    if (size > limit) {
      const path = fieldPath([...pathOf(i), "payload"]);
      throw new Problem("payload-too-large", `${path} is ${size} bytes; the limit is ${limit}`, [{ path, message: `larger than ${limit} bytes` }]);
    }
  });
  if (inputs.some((input) => input.endpointIds)) {
    const applicationOf = new Map((await projectEndpoints(database(env), projectId)).map((endpoint) => [endpoint.id, endpoint.applicationId]));
    inputs.forEach((input, i) =>
      input.endpointIds?.forEach((id, j) => {
        if (!applicationOf.has(id)) throw invalidField(fieldPath([...pathOf(i), "endpointIds", j]), "no such endpoint");
        if (applicationOf.get(id) !== (input.applicationId ?? null)) {
          throw invalidField(fieldPath([...pathOf(i), "endpointIds", j]), input.applicationId ? "not an endpoint of this application" : "belongs to an application: send the event to it");
        }
      }),
    );
  }
  return inputs;
}

const IdempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(255).optional().openapi({ description: "Same as `idempotencyKey` in the body" }),
});

export const eventRoutes = new OpenAPIHono<AppEnv>();

eventRoutes.openapi(
  createRoute({
    method: "post",
    path: "/events",
    operationId: "v1.event.create",
    summary: "Send an event to every subscribed endpoint",
    security,
    request: { headers: IdempotencyHeader, body: jsonBody(EventIn) },
    responses: {
      200: jsonResponse(EventAccepted, "Already accepted under this idempotency key: the original event"),
      202: jsonResponse(EventAccepted, "Accepted"),
      ...errorResponses,
    },
  }),
  async (c) => {
    const projectId = c.var.projectId;
    const request = { ...c.req.valid("json") };
    request.idempotencyKey ??= c.req.valid("header")["idempotency-key"];
    const [input] = await checkEvents(c.env, projectId, [request], () => []);
    const [result] = await ingestEvents(c.env, projectId, [input], ingestOptions(c));
    return c.json(acceptedOut(result), result.created ? 202 : 200);
  },
);

eventRoutes.openapi(
  createRoute({
    method: "post",
    path: "/events/batch",
    operationId: "v1.event.create-batch",
    summary: `Send up to ${BATCH_LIMIT} events in one request, all or nothing`,
    security,
    request: { body: jsonBody(BatchIn) },
    responses: { 202: jsonResponse(z.object({ events: z.array(EventAccepted) }), "Accepted"), ...errorResponses },
  }),
  async (c) => {
    const projectId = c.var.projectId;
    const requests = c.req.valid("json").events;
    const seen = new Map<string, number>();
    requests.forEach((input, i) => {
      if (!input.idempotencyKey) return;
      if (seen.has(input.idempotencyKey)) throw invalidField(`events[${i}].idempotencyKey`, `repeats events[${seen.get(input.idempotencyKey)}]`);
      seen.set(input.idempotencyKey, i);
    });
    const inputs = await checkEvents(c.env, projectId, requests, (i) => ["events", i]);
    const results = await ingestEvents(c.env, projectId, inputs, ingestOptions(c));
    return c.json({ events: results.map(acceptedOut) }, 202);
  },
);

const EventFilterQuery = ListQuery.extend({
  eventType: z.string().max(200).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  endpointId: z.string().max(64).optional(),
  application: ApplicationQuery,
  search: z.string().max(255).optional().openapi({ description: "An event id or idempotency key" }),
  ...TimeRangeQuery.shape,
});

eventRoutes.openapi(
  createRoute({
    method: "get",
    path: "/events",
    operationId: "v1.event.list",
    summary: "List events, newest first",
    security,
    request: { query: EventFilterQuery },
    responses: { 200: jsonResponse(listOf(EventListItem), "Events"), ...errorResponses },
  }),
  async (c) => {
    const { limit, cursor, since, until, application, ...filter } = c.req.valid("query");
    const projectId = c.var.projectId;
    const applicationId = await applicationFilter(c, application);
    const db = c.var.db;
    const rows = await listEvents(db, projectId, { ...filter, applicationId, since: since ? new Date(since) : undefined, until: until ? new Date(until) : undefined }, { limit, cursor });
    const { items, nextCursor } = pageOf(rows, limit, (row) => row.id);
    const counts = await deliveryCounts(db, projectId, items.map((row) => row.id));
    const zero = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as z.infer<typeof DeliveryCounts>;
    return c.json(
      {
        data: items.map((row) => ({ ...row, createdAt: row.createdAt.toISOString(), deliveryCounts: { ...zero, ...counts.get(row.id) } })),
        nextCursor,
      },
      200,
    );
  },
);

const EVENT_TYPES_LIMIT = 500;

eventRoutes.openapi(
  createRoute({
    method: "get",
    path: "/event-types",
    operationId: "v1.event-type.list",
    summary: `The event types this project has sent (at most ${EVENT_TYPES_LIMIT}, alphabetical)`,
    security,
    request: { query: z.object({ application: ApplicationQuery }) },
    responses: { 200: jsonResponse(z.object({ data: z.array(z.string()) }), "Event types"), ...errorResponses },
  }),
  async (c) => {
    const applicationId = await applicationFilter(c, c.req.valid("query").application);
    return c.json({ data: await eventTypes(c.var.db, c.var.projectId, EVENT_TYPES_LIMIT, applicationId) }, 200);
  },
);

eventRoutes.openapi(
  createRoute({
    method: "get",
    path: "/events/{id}",
    operationId: "v1.event.get",
    summary: "One event with its payload and its deliveries",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(EventOut, "Event"), ...errorResponses },
  }),
  async (c) => {
    const found = await findEventWithDeliveries(c.var.db, c.var.projectId, c.req.valid("param").id);
    if (!found) throw notFound("event");
    requireInScope(c, found.event.applicationId, "event");
    const { event } = found;
    return c.json(
      {
        id: event.id,
        eventType: event.eventType,
        applicationId: event.applicationId,
        idempotencyKey: event.idempotencyKey,
        createdAt: event.createdAt.toISOString(),
        payload: payloadOf(await eventBody(c.env, event), event.bodyFormat),
        deliveries: found.deliveries.map((row) => deliveryOut(row.delivery, row.endpointUrl)),
      },
      200,
    );
  },
);
