/**
 * @module Svix messages onto Ferry events of one application: `eventId` is the event's idempotency key (a
 * repeat is Svix's 409), the payload is sent as the whole body, and `application` creates the application
 * when the path names none. `channels`, `tags` and retention periods are accepted and ignored.
 */
import { Hono } from "hono";
import { z } from "@hono/zod-openapi";
import { config } from "../../config";
import { findApplicationEvent, findEvents, listEvents } from "../../db/events";
import { findEventType } from "../../db/event-types";
import type { Application, Endpoint } from "../../db/schema";
import { ingestEvents } from "../../ingest/ingest";
import type { AppEnv } from "../env";
import { ApplicationIn, applicationOrCreate } from "./applications";
import { SvixError, conflict, invalid, notFound } from "./errors";
import { contentOf, messageOut } from "./models";
import { requireApp, requireEndpointOf, requireMessageOf } from "./scope";
import { PageQuery, QueryFlag, QueryList, QueryTime, SvixName, listResponse, readBody, readQuery, type SvixContext } from "./wire";
import { ingestOptions } from "../ingest-context";

const Payload = z.record(z.string(), z.unknown());

const MessageIn = z.object({
  eventType: SvixName,
  eventId: SvixName.nullish(),
  payload: Payload,
  application: ApplicationIn.nullish(),
  deliverAt: z.null({ error: "scheduled sending (deliverAt) is not supported" }).optional(),
});

/** Sends `payload` as the whole webhook body, to the application's subscribed endpoints or to `endpoint` alone. */
async function send(c: SvixContext, application: Application, input: { eventType: string; eventId?: string | null; payload: unknown }, endpoint?: Endpoint) {
  const payloadJson = JSON.stringify(input.payload);
  const size = new TextEncoder().encode(payloadJson).byteLength;
  const limit = config(c.env).maxPayloadBytes;
  if (size > limit) throw new SvixError(413, "payload_too_large", `payload is ${size} bytes; the limit is ${limit}`);
  const message = {
    eventType: input.eventType,
    payload: input.payload,
    payloadJson,
    idempotencyKey: input.eventId ?? undefined,
    applicationId: application.id,
    endpointIds: endpoint ? [endpoint.id] : undefined,
    bodyFormat: "payload" as const,
  };
  const [result] = await ingestEvents(c.env, application.projectId, [message], ingestOptions(c));
  if (!result.created) throw conflict(`A message with eventId "${input.eventId}" already exists`);
  const event = await findApplicationEvent(c.var.db, application.projectId, application.id, result.event.id);
  if (!event) throw new Error(`event ${result.event.id} was accepted but cannot be read`);
  return event;
}

export const svixMessages = new Hono<AppEnv>();

svixMessages.post("/app/:app_id/msg", async (c) => {
  const { with_content: withContent } = readQuery(c, z.object({ with_content: QueryFlag(true) }));
  const input = await readBody(c, MessageIn);
  const application = await applicationOrCreate(c, c.req.param("app_id"), input.application);
  if (!application) throw notFound("application");
  const event = await send(c, application, input);
  return c.json(messageOut(event, await contentOf(c.env, event, withContent)), 202);
});

const MessageListQuery = PageQuery.extend({
  with_content: QueryFlag(true),
  event_types: QueryList,
  before: QueryTime,
  after: QueryTime,
  channel: z.string().optional(),
  tag: z.string().optional(),
});

svixMessages.get("/app/:app_id/msg", async (c) => {
  const application = await requireApp(c);
  const query = readQuery(c, MessageListQuery);
  const db = c.var.db;
  const rows = await listEvents(
    db,
    application.projectId,
    { applicationId: application.id, eventTypes: query.event_types, since: query.after, until: query.before },
    { limit: query.limit, cursor: query.iterator },
  );
  const events = await findEvents(db, application.projectId, rows.slice(0, query.limit).map((row) => row.id));
  const bodies = await Promise.all(rows.slice(0, query.limit).map((row) => contentOf(c.env, events.get(row.id)!, query.with_content)));
  return c.json(listResponse(rows, query.limit, (row) => row.id, (row, i) => messageOut(events.get(row.id)!, bodies[i])));
});

svixMessages.get("/app/:app_id/msg/:msg_id", async (c) => {
  const { with_content: withContent } = readQuery(c, z.object({ with_content: QueryFlag(true) }));
  const event = await requireMessageOf(c, await requireApp(c));
  return c.json(messageOut(event, await contentOf(c.env, event, withContent)));
});

/** Payloads are kept for as long as their deliveries may be resent; Ferry does not expunge them on request. */
const notExpungeable = () => {
  throw new SvixError(400, "not_supported", "Ferry keeps message content for resends; expunging it is not supported.");
};
svixMessages.delete("/app/:app_id/msg/:msg_id/content", async (c) => {
  await requireMessageOf(c, await requireApp(c));
  return notExpungeable();
});
svixMessages.delete("/app/:app_id/msg/:msg_id/attempt/:attempt_id/content", async (c) => {
  await requireMessageOf(c, await requireApp(c));
  return notExpungeable();
});

/** The event type's example (`schemas["1"].examples[exampleIndex]`), or a small sample when it has none. */
svixMessages.post("/app/:app_id/endpoint/:endpoint_id/send-example", async (c) => {
  const application = await requireApp(c);
  const endpoint = await requireEndpointOf(c, application);
  const input = await readBody(c, z.object({ eventType: SvixName, exampleIndex: z.number().int().min(0).max(100).default(0) }));
  const eventType = await findEventType(c.var.db, c.var.projectId, input.eventType);
  if (!eventType) throw notFound("event type");
  const examples = Object.values(eventType.schemas ?? {}).flatMap((schema) => ((schema as { examples?: unknown[] })?.examples ?? []));
  if (examples.length > 0 && input.exampleIndex >= examples.length) throw invalid(["body", "exampleIndex"], `the event type has ${examples.length} examples`);
  const payload = examples[input.exampleIndex] ?? { eventType: input.eventType, example: true, description: eventType.description };
  const event = await send(c, application, { eventType: input.eventType, payload }, endpoint);
  return c.json(messageOut(event, await contentOf(c.env, event, true)));
});
