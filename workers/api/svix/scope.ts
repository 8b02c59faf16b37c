/**
 * @module What a Svix path names, inside the caller's project: an application (id or uid), one of its
 * endpoints (id or uid) and one of its messages (id or `eventId`). Anything else answers Svix's 404.
 */
import { findApplication } from "../../db/applications";
import { database } from "../../db/client";
import { findApplicationEndpoint } from "../../db/endpoints";
import { findApplicationEvent } from "../../db/events";
import type { Application } from "../../db/schema";
import { projectIdOf } from "../auth";
import { notFound } from "./errors";
import type { SvixContext } from "./wire";

export const projectOf = (c: SvixContext) => projectIdOf(c.get("principal"));

export async function requireApp(c: SvixContext, idOrUid = c.req.param("app_id")!): Promise<Application> {
  const application = await findApplication(database(c.env), projectOf(c), idOrUid);
  if (!application) throw notFound("application");
  return application;
}

export async function requireEndpointOf(c: SvixContext, application: Application, idOrUid = c.req.param("endpoint_id")!) {
  const endpoint = await findApplicationEndpoint(database(c.env), application.projectId, application.id, idOrUid);
  if (!endpoint) throw notFound("endpoint");
  return endpoint;
}

export async function requireMessageOf(c: SvixContext, application: Application, idOrEventId = c.req.param("msg_id")!) {
  const event = await findApplicationEvent(database(c.env), application.projectId, application.id, idOrEventId);
  if (!event) throw notFound("message");
  return event;
}
