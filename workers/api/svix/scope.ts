/**
 * @module What a Svix path names, inside the caller's project: an application (id or uid), one of its
 * endpoints (id or uid) and one of its messages (id or `eventId`). Anything else answers Svix's 404.
 */
import { findApplication } from "../../db/applications";
import { findApplicationEndpoint } from "../../db/endpoints";
import { findApplicationEvent } from "../../db/events";
import type { Application } from "../../db/schema";
import { notFound } from "./errors";
import type { SvixContext } from "./wire";

export async function requireApp(c: SvixContext, idOrUid = c.req.param("app_id")!): Promise<Application> {
  const application = await findApplication(c.var.db, c.var.projectId, idOrUid);
  if (!application) throw notFound("application");
  return application;
}

export async function requireEndpointOf(c: SvixContext, application: Application, idOrUid = c.req.param("endpoint_id")!) {
  const endpoint = await findApplicationEndpoint(c.var.db, application.projectId, application.id, idOrUid);
  if (!endpoint) throw notFound("endpoint");
  return endpoint;
}

export async function requireMessageOf(c: SvixContext, application: Application, idOrEventId = c.req.param("msg_id")!) {
  const event = await findApplicationEvent(c.var.db, application.projectId, application.id, idOrEventId);
  if (!event) throw notFound("message");
  return event;
}
