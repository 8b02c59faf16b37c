/**
 * @module Svix message attempts onto Ferry's attempt log and deliveries: attempts by endpoint and by message,
 * one attempt, the messages an endpoint was sent, the endpoints a message went to, and resend (Ferry's resend
 * of that one delivery). Ferry records finished attempts only, so an attempt is a success or a failure.
 */
import { Hono } from "hono";
import { z } from "@hono/zod-openapi";
import { findAttempt, listAttempts, sentAttempt, type AttemptFilter } from "../../db/attempts";
import type { Event } from "../../db/schema";
import { listDeliveries, resetForResend } from "../../db/deliveries";
import { findEndpoint } from "../../db/endpoints";
import { findEvents } from "../../db/events";
import { enqueueDeliveries } from "../../queue/delivery-queue";
import type { AppEnv } from "../env";
import { conflict, notFound } from "./errors";
import { attemptOut, contentOf, endpointMessageOut, messageEndpointOut, messageOut } from "./models";
import { requireApp, requireEndpointOf, requireMessageOf } from "./scope";
import { DELIVERY_STATUSES_OF, MessageStatusQuery, PageQuery, QueryFlag, QueryList, QueryTime, listResponse, readQuery, type SvixContext } from "./wire";

const AttemptListQuery = PageQuery.extend({
  status: MessageStatusQuery,
  status_code_class: z.coerce.number().int().refine((n) => [0, 100, 200, 300, 400, 500].includes(n), "one of 0, 100, 200, 300, 400, 500").optional(),
  event_types: QueryList,
  before: QueryTime,
  after: QueryTime,
  with_content: QueryFlag(true),
  with_msg: QueryFlag(false),
  endpoint_id: z.string().max(256).optional(),
  channel: z.string().optional(),
  tag: z.string().optional(),
  expanded_statuses: z.string().optional(),
});

async function attemptList(c: SvixContext, projectId: string, filter: AttemptFilter, query: z.infer<typeof AttemptListQuery>) {
  // Pending (1) and sending (3) describe deliveries, not finished attempts: no attempt has them.
  if (query.status === 1 || query.status === 3 || query.status === 4) return c.json(listResponse([], query.limit, () => "", () => null));
  const db = c.var.db;
  const rows = await listAttempts(
    db,
    projectId,
    { ...filter, succeeded: query.status === undefined ? undefined : query.status === 0, statusClass: query.status_code_class, eventTypes: query.event_types, since: query.after, until: query.before },
    { limit: query.limit, cursor: query.iterator },
  );
  const items = rows.slice(0, query.limit);
  const events = query.with_msg ? await findEvents(db, projectId, items.map((row) => row.delivery.eventId)) : new Map<string, Event>();
  const sent = await Promise.all(items.map((row) => sentAttempt(c.env, row.attempt, row.delivery.eventId)));
  const msgs = await Promise.all(
    items.map(async (row) => {
      const event = events.get(row.delivery.eventId);
      return event ? messageOut(event, await contentOf(c.env, event, query.with_content)) : undefined;
    }),
  );
  return c.json(listResponse(rows, query.limit, (row) => row.attempt.id, (row, i) => attemptOut(sent[i], row.delivery, msgs[i])));
}

export const svixAttempts = new Hono<AppEnv>();

svixAttempts.get("/app/:app_id/attempt/endpoint/:endpoint_id", async (c) => {
  const application = await requireApp(c);
  const endpoint = await requireEndpointOf(c, application);
  return attemptList(c, application.projectId, { applicationId: application.id, endpointId: endpoint.id }, readQuery(c, AttemptListQuery));
});

svixAttempts.get("/app/:app_id/attempt/msg/:msg_id", async (c) => {
  const application = await requireApp(c);
  const event = await requireMessageOf(c, application);
  const query = readQuery(c, AttemptListQuery);
  const endpoint = query.endpoint_id ? await requireEndpointOf(c, application, query.endpoint_id) : undefined;
  return attemptList(c, application.projectId, { applicationId: application.id, eventId: event.id, endpointId: endpoint?.id }, query);
});

svixAttempts.get("/app/:app_id/msg/:msg_id/attempt/:attempt_id", async (c) => {
  const application = await requireApp(c);
  const event = await requireMessageOf(c, application);
  const found = await findAttempt(c.var.db, application.projectId, event.id, c.req.param("attempt_id"));
  if (!found) throw notFound("message attempt");
  return c.json(attemptOut(await sentAttempt(c.env, found.attempt, event.id), found.delivery));
});

const AttemptedMessagesQuery = PageQuery.extend({
  status: MessageStatusQuery,
  event_types: QueryList,
  before: QueryTime,
  after: QueryTime,
  with_content: QueryFlag(true),
  channel: z.string().optional(),
  tag: z.string().optional(),
  expanded_statuses: z.string().optional(),
});

svixAttempts.get("/app/:app_id/endpoint/:endpoint_id/msg", async (c) => {
  const application = await requireApp(c);
  const endpoint = await requireEndpointOf(c, application);
  const query = readQuery(c, AttemptedMessagesQuery);
  const db = c.var.db;
  const rows = await listDeliveries(
    db,
    application.projectId,
    {
      endpointId: endpoint.id,
      statuses: query.status === undefined ? undefined : DELIVERY_STATUSES_OF[query.status],
      eventTypes: query.event_types,
      since: query.after,
      until: query.before,
    },
    { limit: query.limit, cursor: query.iterator },
  );
  const events = await findEvents(db, application.projectId, rows.slice(0, query.limit).map((row) => row.delivery.eventId));
  const bodies = await Promise.all(rows.slice(0, query.limit).map((row) => contentOf(c.env, events.get(row.delivery.eventId)!, query.with_content)));
  return c.json(listResponse(rows, query.limit, (row) => row.delivery.id, (row, i) => endpointMessageOut(events.get(row.delivery.eventId)!, row.delivery, bodies[i])));
});

/** A message goes to as many endpoints as its application has: one page of them is read at a time. */
svixAttempts.get("/app/:app_id/msg/:msg_id/endpoint", async (c) => {
  const application = await requireApp(c);
  const event = await requireMessageOf(c, application);
  const query = readQuery(c, PageQuery);
  const db = c.var.db;
  const rows = await listDeliveries(db, application.projectId, { eventId: event.id }, { limit: query.limit, cursor: query.iterator });
  const endpoints = await Promise.all(rows.slice(0, query.limit).map((row) => findEndpoint(db, application.projectId, row.delivery.endpointId)));
  const page = listResponse(rows, query.limit, (row) => row.delivery.id, (row, i) => (endpoints[i] ? messageEndpointOut(endpoints[i], row.delivery) : null));
  // A deleted endpoint keeps its deliveries but is no destination any more.
  return c.json({ ...page, data: page.data.filter((item) => item !== null) });
});

svixAttempts.post("/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend", async (c) => {
  const application = await requireApp(c);
  const event = await requireMessageOf(c, application);
  const endpoint = await requireEndpointOf(c, application);
  const db = c.var.db;
  const [row] = await listDeliveries(db, application.projectId, { eventId: event.id, endpointId: endpoint.id }, { limit: 1 });
  if (!row) throw notFound("message attempt");
  const [queued] = await resetForResend(db, application.projectId, { ids: [row.delivery.id] });
  if (!queued) {
    throw conflict(row.delivery.status === "paused" ? "The endpoint is disabled; enable it to resume its messages." : "The message is being sent to this endpoint right now; try again in a moment.");
  }
  await enqueueDeliveries(c.env, [queued]);
  return c.json({}, 202);
});
