/**
 * @module Svix event types onto Ferry's event type catalog: create (409 on a taken name), `PUT` creates what
 * it does not find, delete archives unless `expunge=true`. `featureFlag` is kept as the one-flag form of
 * `featureFlags`.
 */
import { Hono } from "hono";
import { z } from "@hono/zod-openapi";
import { createEventType, deleteEventType, findEventType, listEventTypes, updateEventType, type EventTypeFields } from "../../db/event-types";
import type { AppEnv } from "../env";
import { conflict, notFound } from "./errors";
import { eventTypeOut } from "./models";
import { PageQuery, QueryFlag, SvixName, listResponse, readBody, readQuery } from "./wire";

const eventTypeFields = {
  description: z.string().max(10_000),
  archived: z.boolean().optional(),
  deprecated: z.boolean().optional(),
  schemas: z.record(z.string(), z.unknown()).nullish(),
  featureFlag: SvixName.nullish(),
  featureFlags: z.array(SvixName).max(20).nullish(),
  groupName: SvixName.nullish(),
};
const EventTypeIn = z.object({ name: SvixName, ...eventTypeFields });
const EventTypeUpdate = z.object(eventTypeFields);
const EventTypePatch = EventTypeUpdate.partial();

/** Every field, as a create or a `PUT` writes it. */
const fieldsOf = (input: z.infer<typeof EventTypeUpdate>): EventTypeFields => ({
  description: input.description,
  archived: input.archived ?? false,
  deprecated: input.deprecated ?? false,
  schemas: input.schemas ?? null,
  featureFlags: input.featureFlags ?? (input.featureFlag ? [input.featureFlag] : null),
  groupName: input.groupName ?? null,
});

export const svixEventTypes = new Hono<AppEnv>();

svixEventTypes.get("/event-type", async (c) => {
  const query = readQuery(c, PageQuery.extend({ include_archived: QueryFlag(false), with_content: QueryFlag(false) }));
  const rows = await listEventTypes(c.var.db, c.var.projectId, { limit: query.limit, cursor: query.iterator, includeArchived: query.include_archived });
  return c.json(listResponse(rows, query.limit, (row) => row.name, (row) => eventTypeOut(row, query.with_content)));
});

svixEventTypes.post("/event-type", async (c) => {
  const input = await readBody(c, EventTypeIn);
  const row = await createEventType(c.var.db, c.var.projectId, input.name, fieldsOf(input));
  if (!row) throw conflict(`An event type named "${input.name}" already exists`);
  return c.json(eventTypeOut(row), 201);
});

svixEventTypes.get("/event-type/:event_type_name", async (c) => {
  const row = await findEventType(c.var.db, c.var.projectId, c.req.param("event_type_name"));
  if (!row) throw notFound("event type");
  return c.json(eventTypeOut(row));
});

svixEventTypes.put("/event-type/:event_type_name", async (c) => {
  const name = c.req.param("event_type_name");
  const fields = fieldsOf(await readBody(c, EventTypeUpdate));
  const db = c.var.db;
  const updated = await updateEventType(db, c.var.projectId, name, fields);
  if (updated) return c.json(eventTypeOut(updated), 200);
  const parsedName = SvixName.safeParse(name);
  if (!parsedName.success) throw notFound("event type");
  const created = await createEventType(db, c.var.projectId, parsedName.data, fields);
  // Created by a concurrent request in between: this one's fields win, as if it came second.
  return created ? c.json(eventTypeOut(created), 201) : c.json(eventTypeOut((await updateEventType(db, c.var.projectId, name, fields))!), 200);
});

svixEventTypes.patch("/event-type/:event_type_name", async (c) => {
  const input = await readBody(c, EventTypePatch);
  const { featureFlag, ...rest } = input;
  const changes: Partial<EventTypeFields> = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  if (featureFlag !== undefined && input.featureFlags === undefined) changes.featureFlags = featureFlag ? [featureFlag] : null;
  const row = await updateEventType(c.var.db, c.var.projectId, c.req.param("event_type_name"), changes);
  if (!row) throw notFound("event type");
  return c.json(eventTypeOut(row));
});

svixEventTypes.delete("/event-type/:event_type_name", async (c) => {
  const { expunge } = readQuery(c, z.object({ expunge: QueryFlag(false) }));
  const name = c.req.param("event_type_name");
  const db = c.var.db;
  const done = expunge ? await deleteEventType(db, c.var.projectId, name) : Boolean(await updateEventType(db, c.var.projectId, name, { archived: true }));
  if (!done) throw notFound("event type");
  return c.body(null, 204);
});
