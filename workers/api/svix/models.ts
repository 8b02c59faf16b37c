/**
 * @module Ferry rows as Svix's response models (ApplicationOut, EndpointOut, MessageOut, MessageAttemptOut, …).
 * Svix fields Ferry has no use for are answered with their neutral value (`channels: null`, `version: 1`).
 */
import type { SentAttempt } from "../../db/attempts";
import type { Application, Delivery, Endpoint, Event, EventTypeRow } from "../../db/schema";
import { eventBody } from "../../db/bodies";
import { payloadOf } from "../../ingest/ingest";
import { statusOfDelivery, withStatus } from "./wire";

export const applicationOut = (row: Application) => ({
  id: row.id,
  uid: row.uid,
  name: row.name,
  metadata: row.metadata,
  rateLimit: row.rateLimitPerSecond,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export const endpointOut = (row: Endpoint) => ({
  id: row.id,
  uid: row.uid,
  url: row.url,
  description: row.description,
  filterTypes: row.eventTypes.length > 0 ? row.eventTypes : null,
  channels: null,
  disabled: row.status === "disabled",
  rateLimit: row.rateLimitPerSecond,
  metadata: row.metadata,
  version: 1,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** `body`: the event's bytes (db/bodies.ts `eventBody`); without them (no content asked for) the payload is `{}` as in Svix. */
export const messageOut = (event: Event, body: string | undefined) => ({
  id: event.id,
  eventId: event.idempotencyKey,
  eventType: event.eventType,
  payload: body === undefined ? {} : payloadOf(body, event.bodyFormat),
  channels: null,
  tags: null,
  timestamp: event.createdAt.toISOString(),
});

const attemptSucceeded = (attempt: SentAttempt) => attempt.response !== null && attempt.response.status >= 200 && attempt.response.status < 300;

export const attemptOut = (attempt: SentAttempt, delivery: Delivery, msg?: ReturnType<typeof messageOut>) => ({
  id: attempt.id,
  msgId: delivery.eventId,
  endpointId: delivery.endpointId,
  url: attempt.request.url,
  response: attempt.response?.body ?? attempt.error ?? "",
  responseStatusCode: attempt.response?.status ?? 0,
  responseDurationMs: attempt.durationMs,
  ...withStatus(attemptSucceeded(attempt) ? "success" : "fail"),
  triggerType: attempt.trigger === "manual" ? 1 : 0,
  timestamp: attempt.startedAt.toISOString(),
  ...(msg ? { msg } : {}),
});

/** A message as one endpoint sees it: its delivery's status and next attempt. */
export const endpointMessageOut = (event: Event, delivery: Delivery, body: string | undefined) => ({
  ...messageOut(event, body),
  ...withStatus(statusOfDelivery(delivery.status)),
  nextAttempt: delivery.nextAttemptAt && statusOfDelivery(delivery.status) === "pending" ? delivery.nextAttemptAt.toISOString() : null,
});

/** An endpoint as one message reached it. */
export const messageEndpointOut = (endpoint: Endpoint, delivery: Delivery) => ({
  ...endpointOut(endpoint),
  ...withStatus(statusOfDelivery(delivery.status)),
  nextAttempt: delivery.nextAttemptAt && statusOfDelivery(delivery.status) === "pending" ? delivery.nextAttemptAt.toISOString() : null,
});

/** Schemas are large: lists include them only `with_content`. */
export const eventTypeOut = (row: EventTypeRow, withContent = true) => ({
  name: row.name,
  description: row.description,
  archived: row.archived,
  deprecated: row.deprecated,
  schemas: withContent ? row.schemas : null,
  featureFlags: row.featureFlags,
  featureFlag: row.featureFlags?.[0] ?? null,
  groupName: row.groupName,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The bytes an event sends (from R2 when they are kept there), when its content is asked for. */
export const contentOf = (env: Env, event: Event, withContent: boolean): Promise<string | undefined> =>
  withContent ? eventBody(env, event) : Promise.resolve(undefined);
