/**
 * @module The dashboard's only door to the Ferry API: service binding `API` in production, HTTP to `API_URL`
 * (default http://127.0.0.1:8787) otherwise. Adds the session's bearer token (and `Ferry-Project` for admins)
 * and turns bad statuses into `error()` for loads or a `fail()`-ready result for actions.
 */
import { env } from "$env/dynamic/private";
import { error, fail, redirect, type RequestEvent } from "@sveltejs/kit";
import type { Problem } from "$lib/types";
import { clearSession, type Session } from "./session";

const DEFAULT_API_URL = "http://127.0.0.1:8787";
const BASE_PATH = "/api/v1";

type Query = Record<string, string | number | null | undefined>;
type Method = "GET" | "POST" | "PATCH" | "DELETE";

export interface CallOptions {
  query?: Query;
  body?: unknown;
  /** Override the session, e.g. to validate a token at sign-in before it is stored. */
  auth?: { token: string; projectId?: string | null };
}

export type SendResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; problem: Problem };

function buildPath(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return `${BASE_PATH}${path}${qs ? `?${qs}` : ""}`;
}

async function rawFetch(event: RequestEvent, method: Method, path: string, options: CallOptions): Promise<Response> {
  const session: Session | null = event.locals.session;
  const auth = options.auth ?? (session ? { token: session.token, projectId: session.projectId } : null);
  const headers = new Headers({ accept: "application/json" });
  if (auth) {
    headers.set("authorization", `Bearer ${auth.token}`);
    if (auth.projectId) headers.set("ferry-project", auth.projectId);
  }
  if (options.body !== undefined) headers.set("content-type", "application/json");
  const init: RequestInit = {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  };
  return callApi(event, buildPath(path, options.query), init);
}

/** `target` is a path under the API's origin, e.g. `/api/v1/endpoints?limit=5`. */
async function callApi(event: RequestEvent, target: string, init: RequestInit): Promise<Response> {
  const binding = event.platform?.env?.API;
  // An explicit API_URL wins, so `npm run dev` and the test stack can point at any local port.
  const apiUrl = env.API_URL || event.platform?.env?.API_URL;
  try {
    if (binding && !apiUrl) return (await binding.fetch(`https://ferry-api${target}`, init as never)) as unknown as Response;
    return await fetch(`${(apiUrl || DEFAULT_API_URL).replace(/\/$/, "")}${target}`, init);
  } catch (cause) {
    console.error("ferry api unreachable", init.method, target, cause);
    error(503, { message: "The Ferry API is not reachable right now. Try again in a moment." });
  }
}

/**
 * For the portal's same-origin proxy: passes a request under /api/v1 through as it is, with its own
 * Authorization header (a portal session token) and nothing of the dashboard's session.
 */
export function forwardToApi(event: RequestEvent, path: string, init: { method: string; authorization: string | null; body?: string }) {
  const headers = new Headers({ accept: "application/json" });
  if (init.authorization) headers.set("authorization", init.authorization);
  if (init.body) headers.set("content-type", "application/json");
  return callApi(event, `${BASE_PATH}${path}${event.url.search}`, { method: init.method, headers, body: init.body || undefined });
}

async function readProblem(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    return { ...parsed, status: response.status } as Problem;
  } catch {
    return { status: response.status, title: response.statusText, detail: text.slice(0, 300) || undefined };
  }
}

export function problemMessage(problem: Problem): string {
  return problem.detail || problem.title || `The API answered ${problem.status}.`;
}

function signOutOn401(event: RequestEvent, status: number): void {
  if (status !== 401 || event.url.pathname === "/login") return;
  clearSession(event.cookies, event.url);
  redirect(303, "/login?expired=1");
}

/** For `load`: returns the JSON body or throws `error()` with the API's problem detail. */
export async function apiGet<T>(event: RequestEvent, path: string, query?: Query): Promise<T> {
  const response = await rawFetch(event, "GET", path, { query });
  if (response.ok) return (await response.json()) as T;
  const problem = await readProblem(response);
  signOutOn401(event, response.status);
  const status = response.status >= 500 ? 502 : response.status;
  error(status, { message: problemMessage(problem), requestId: problem.requestId });
}

/** For actions: never throws on API errors, so the caller can hand them to the form with `failWith`. */
export async function apiSend<T>(
  event: RequestEvent,
  method: Method,
  path: string,
  options: CallOptions = {},
): Promise<SendResult<T>> {
  const response = await rawFetch(event, method, path, options);
  if (response.ok) {
    const text = response.status === 204 ? "" : await response.text();
    return { ok: true, status: response.status, data: (text ? JSON.parse(text) : null) as T };
  }
  const problem = await readProblem(response);
  if (!options.auth) signOutOn401(event, response.status);
  return { ok: false, status: response.status, problem };
}

/** `fail()` with the problem's message and per-field errors, keyed by field path, for forms to show. */
export function failWith<E extends Record<string, unknown> = Record<never, never>>(
  result: { status: number; problem: Problem },
  extra: E = {} as E,
) {
  const fieldErrors: Record<string, string> = {};
  for (const item of result.problem.errors ?? []) fieldErrors[item.path] = item.message;
  const status = result.status >= 400 && result.status < 500 ? result.status : 502;
  return fail(status, { ...extra, message: problemMessage(result.problem), fieldErrors });
}
