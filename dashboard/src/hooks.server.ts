/** @module Fills `locals.session` from the cookie, keeps signed-out visitors on /login, and sets security headers. */
import { redirect, type Handle } from "@sveltejs/kit";
import { readSession } from "$lib/server/session";

const PUBLIC_ROUTES = new Set(["/login"]);
/** An admin who has not picked a project may only reach these. */
const ADMIN_ROUTES = new Set(["/projects", "/logout", "/login"]);

export const handle: Handle = async ({ event, resolve }) => {
  const session = readSession(event.cookies);
  event.locals.session = session;

  const route = event.route.id;
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
