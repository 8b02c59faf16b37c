/**
 * The portal's door to the API, on the portal's own origin (so its CSP keeps `connect-src 'self'` and no
 * cookie is involved): the browser sends its portal session token as a bearer header, which is passed on
 * untouched. Only portal tokens go through, so this is never a second way in for API keys; what a session
 * may do is decided by the API.
 */
import { error, type RequestHandler } from "@sveltejs/kit";
import { forwardToApi } from "$lib/server/api";

const PORTAL_BEARER = /^Bearer ferry_ps_[A-Za-z0-9_\-.]+$/;
const MAX_BODY_BYTES = 256 * 1024;

const forward: RequestHandler = async (event) => {
  const path = `/${event.params.path}`;
  const authorization = event.request.headers.get("authorization");
  const opening = event.request.method === "POST" && path === "/portal/sessions";
  if (!opening && !(authorization && PORTAL_BEARER.test(authorization))) error(401, "A portal session token is required.");
  const body = event.request.method === "GET" ? undefined : await event.request.text();
  if (body && body.length > MAX_BODY_BYTES) error(413, "Request body too large.");
  const response = await forwardToApi(event, path, { method: event.request.method, authorization: opening ? null : authorization, body });
  return new Response(response.status === 204 ? null : await response.text(), {
    status: response.status,
    headers: { "content-type": response.headers.get("content-type") ?? "application/json", "cache-control": "no-store" },
  });
};

export const GET = forward;
export const POST = forward;
export const PATCH = forward;
export const DELETE = forward;
