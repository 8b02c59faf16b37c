/**
 * @module Fills `locals.session` from the cookie, keeps signed-out visitors on /login, and sets security headers.
 * Portal pages (/portal/…) use no cookie at all (their session is a header, see lib/portal/session.ts), and may
 * be framed by the origins their project allows, and by nobody else.
 */
import { redirect, type Handle, type RequestEvent } from "@sveltejs/kit";
import { apiGet } from "$lib/server/api";
import { readSession } from "$lib/server/session";

const PUBLIC_ROUTES = new Set(["/login"]);
/** An admin who has not picked a project may only reach these. */
const ADMIN_ROUTES = new Set(["/projects", "/logout", "/login"]);

const isPortal = (route: string | null) => route === "/portal" || !!route?.startsWith("/portal/");

/** `frame-ancestors` from the project's `portal.allowedOrigins` (origins only, checked by the API when saved). */
async function portalFrameAncestors(event: RequestEvent): Promise<string> {
  const project = event.params.project;
  if (!project) return "'none'";
  let allowedOrigins: string[] = [];
  try {
    ({ allowedOrigins } = await apiGet<{ allowedOrigins: string[] }>(event, `/portal/frame-ancestors/${encodeURIComponent(project)}`));
  } catch {
    // Fails closed: when the policy cannot be read, nobody may frame the page.
  }
  const origins = allowedOrigins.filter((origin) => /^https?:\/\/[^\s;,'"]+$/.test(origin));
  return origins.length > 0 ? origins.join(" ") : "'none'";
}

export const handle: Handle = async ({ event, resolve }) => {
  const route = event.route.id;
  if (isPortal(route)) {
    event.locals.session = null;
    const response = await resolve(event);
    const csp = response.headers.get("content-security-policy");
    if (csp) {
      const ancestors = await portalFrameAncestors(event);
      // A customer's logo may live on the sender's own (https) site.
      response.headers.set("content-security-policy", csp.replace("frame-ancestors 'none'", `frame-ancestors ${ancestors}`).replace("img-src 'self' data:", "img-src 'self' data: https:"));
    }
    response.headers.set("x-content-type-options", "nosniff");
    response.headers.set("referrer-policy", "no-referrer");
    return response;
  }

  const session = readSession(event.cookies);
  event.locals.session = session;

  if (route) {
    if (!session && !PUBLIC_ROUTES.has(route)) {
      const next = event.url.pathname + event.url.search;
      redirect(303, next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`);
    }
    if (session?.kind === "admin" && !session.projectId && !ADMIN_ROUTES.has(route)) redirect(303, "/projects");
  }

  const response = await resolve(event);
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "same-origin");
  return response;
};
