/**
 * @module Application scope for routes: which application a request's lists are confined to, and the 404 for
 * rows outside a portal session's application. Tenancy by project is kept by the query helpers (project id
 * first, `c.var.projectId` from api/project-scope.ts); this narrows it further for portal sessions and
 * resolves `?application=` (an id or a uid).
 */
import type { Context } from "hono";
import { findApplication } from "../db/applications";
import type { Application } from "../db/schema";
import type { Principal } from "./auth";
import type { AppEnv } from "./env";
import { invalidField, notFound } from "./problem";

type ScopedContext = Pick<Context<AppEnv>, "get" | "var">;

export function portalGrantOf(principal: Principal) {
  return principal.kind === "project" ? principal.portal : undefined;
}

/** The application named by `idOrUid` in the caller's project (a portal session reaches only its own), or a 404. */
export async function requireApplication(c: ScopedContext, idOrUid: string): Promise<Application> {
  const application = await findApplication(c.var.db, c.var.projectId, idOrUid);
  const grant = portalGrantOf(c.get("principal"));
  if (!application || (grant && grant.applicationId !== application.id)) throw notFound("application");
  return application;
}

/**
 * The application id a list or bulk action is confined to: a portal session's own whatever was asked,
 * otherwise the one `requested` names (`field` is reported when it names none), otherwise none.
 */
export async function applicationFilter(c: ScopedContext, requested: string | undefined, field = "application"): Promise<string | undefined> {
  const grant = portalGrantOf(c.get("principal"));
  if (grant) return grant.applicationId;
  if (requested === undefined) return undefined;
  const application = await findApplication(c.var.db, c.var.projectId, requested);
  if (!application) throw invalidField(field, "no such application");
  return application.id;
}

/** A 404 (never the row) when a portal session asks for a row of another application or of the project's own. */
export function requireInScope(c: ScopedContext, applicationId: string | null, what: string): void {
  const grant = portalGrantOf(c.get("principal"));
  if (grant && grant.applicationId !== applicationId) throw notFound(what);
}
