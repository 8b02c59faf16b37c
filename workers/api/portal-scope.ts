/**
 * @module What a portal session may do. A session acts as its project narrowed to one application: it reaches
 * only the routes listed here (everything else is refused), never writes when read-only, and every route it
 * reaches confines lists to its application and answers 404 for another application's ids (see scope.ts).
 */
import type { Database } from "../db/client";
import { findApplication } from "../db/applications";
import { findProject } from "../db/projects";
import { readPortalClaims, verifyPortalToken, type PortalClaims } from "../portal/capability";
import { Problem } from "./problem";

type PortalRoute = { method: string; path: RegExp; writes: boolean };

const ID = "[^/]+";
const route = (method: string, path: string, writes = method !== "GET"): PortalRoute => ({ method, path: new RegExp(`^${path.replaceAll(":id", ID)}$`), writes });

/** Paths relative to /api/v1. Default deny: a route that is not here answers 403 to a portal session. */
const PORTAL_ROUTES: PortalRoute[] = [
  route("GET", "/portal/session"),
  // Renewing changes nothing the customer owns, so a read-only session may renew.
  route("POST", "/portal/session/renew", false),
  route("GET", "/endpoints"),
  route("POST", "/endpoints"),
  route("GET", "/endpoints/:id"),
  route("PATCH", "/endpoints/:id"),
  route("DELETE", "/endpoints/:id"),
  // Revealing a signing secret is an action: a read-only session may look, not take.
  route("GET", "/endpoints/:id/secret", true),
  route("POST", "/endpoints/:id/secret/rotate"),
  route("POST", "/endpoints/:id/(enable|disable|test)"),
  route("GET", "/event-types"),
  route("GET", "/events"),
  route("GET", "/events/:id"),
  route("GET", "/deliveries"),
  route("GET", "/deliveries/:id"),
  route("POST", "/deliveries/:id/resend"),
  route("POST", "/deliveries/resend"),
  route("GET", "/stats"),
];

export type PortalGrant = { applicationId: string; readOnly: boolean };

export function checkPortalRoute(grant: PortalGrant, method: string, path: string): void {
  const allowed = PORTAL_ROUTES.find((r) => r.method === method && r.path.test(path));
  if (!allowed) throw new Problem("forbidden", "A portal session cannot use this route.");
  if (allowed.writes && grant.readOnly) throw new Problem("forbidden", "This portal link is read-only.");
}

/**
 * The verified claims of a portal token, or a 401. The application and its project are read on every call
 * (no cache), so a revocation, which replaces its `portalKey`, or a project delete takes effect on the very
 * next request.
 */
export async function verifiedPortalClaims(db: Database, token: string, kind: PortalClaims["kind"]): Promise<PortalClaims> {
  const claims = readPortalClaims(token, kind);
  // A deleted project's sessions end with it: its applications stay until its delete job reaches them.
  const [application, project] = claims ? await Promise.all([findApplication(db, claims.projectId, claims.applicationId), findProject(db, claims.projectId)]) : [];
  const valid = application && project && application.id === claims!.applicationId && (await verifyPortalToken(token, claims!, application.portalKey));
  if (!valid) throw new Problem("unauthorized", "This portal link has expired or was revoked. Ask for a new link.");
  return claims!;
}
