/**
 * @module The portal's session in the browser. A portal link carries its capability in the URL fragment
 * (`/portal/<project>#ferry_pl_…`), which never reaches a server or a Referer. The page exchanges it once
 * for a short-lived session token, drops the fragment from the address bar, and keeps the token in this
 * tab's sessionStorage; every API call sends it as `Authorization: Bearer`.
 *
 * Why not a cookie: inside a cross-site iframe the browser may send no cookie at all (third-party cookie
 * blocking, and partitioned cookies need https and still vary by browser). A header works in every frame.
 * Where a framed page may not even use sessionStorage (Chromium with third-party storage blocked), the token
 * lives in memory for the life of the page.
 */
import { error } from "@sveltejs/kit";
import { invalidateAll } from "$app/navigation";
import type { Problem } from "$lib/types";

export interface PortalSession {
  projectId: string;
  token: string;
  expiresAt: string;
  readOnly: boolean;
  application: { id: string; uid: string | null; name: string };
  branding: { brandName: string | null; logoUrl: string | null; primaryColor: string | null };
}

const STORAGE_KEY = "ferry.portal.session";
/** Renew this long before the token expires, so no click meets an expired token. */
const RENEW_MARGIN_MS = 5 * 60_000;
export const ENDED_MESSAGE = "This portal link has expired or was revoked. Ask for a new link.";

type Fetch = typeof fetch;

let inMemory: string | null = null;

/** This tab's sessionStorage, or null where the browser denies it to this (framed) document. */
function tabStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function store(session: PortalSession | null) {
  const value = session ? JSON.stringify(session) : null;
  inMemory = value;
  const storage = tabStorage();
  if (value) storage?.setItem(STORAGE_KEY, value);
  else storage?.removeItem(STORAGE_KEY);
}

function stored(projectId: string): PortalSession | null {
  try {
    const session = JSON.parse(tabStorage()?.getItem(STORAGE_KEY) ?? inMemory ?? "null") as PortalSession | null;
    return session && session.projectId === projectId && Date.parse(session.expiresAt) > Date.now() ? session : null;
  } catch {
    return null;
  }
}

async function readProblem(response: Response): Promise<Problem> {
  try {
    return { ...(await response.json()), status: response.status } as Problem;
  } catch {
    return { status: response.status, title: response.statusText };
  }
}

/** Thrown by `call` for answers other than 2xx; `problem.errors` names the fields that are wrong. */
export class PortalApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title || `The API answered ${problem.status}.`);
  }
  get fieldErrors(): Record<string, string> {
    return Object.fromEntries((this.problem.errors ?? []).map((e) => [e.path, e.message]));
  }
}

async function exchange(fetch: Fetch, projectId: string, link: string): Promise<PortalSession | null> {
  const response = await fetch("/portal/api/portal/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ link }) });
  if (!response.ok) return null;
  return { projectId, ...(await response.json()) } as PortalSession;
}

async function renew(fetch: Fetch, session: PortalSession): Promise<PortalSession | null> {
  const response = await fetch("/portal/api/portal/session/renew", { method: "POST", headers: { authorization: `Bearer ${session.token}` } });
  if (!response.ok) return null;
  return { projectId: session.projectId, ...(await response.json()) } as PortalSession;
}

/**
 * The session for this tab: opened from the link in the fragment if there is one (a new link replaces an
 * older session), else the stored one. Null when there is neither, or the link is no longer good.
 */
export async function openPortalSession(fetch: Fetch, projectId: string): Promise<PortalSession | null> {
  const fragment = decodeURIComponent(location.hash.slice(1));
  if (fragment.startsWith("ferry_pl_")) {
    history.replaceState(history.state, "", location.pathname + location.search);
    const session = await exchange(fetch, projectId, fragment);
    store(session);
    return session;
  }
  return stored(projectId);
}

/** A JSON call to the Ferry API as the portal session; a 401 (expired, revoked) ends the session. */
export async function call<T>(fetch: Fetch, projectId: string, method: string, path: string, body?: unknown): Promise<T> {
  let session = stored(projectId);
  if (session && Date.parse(session.expiresAt) - Date.now() < RENEW_MARGIN_MS) {
    session = await renew(fetch, session);
    store(session);
  }
  if (!session) error(401, ENDED_MESSAGE);
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/portal/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    store(null);
    error(401, ENDED_MESSAGE);
  }
  if (!response.ok) throw new PortalApiError(await readProblem(response));
  return (response.status === 204 ? null : await response.json()) as T;
}

/** For loads: API errors become the page's error (404 for another application's ids). */
export async function load<T>(fetch: Fetch, projectId: string, path: string): Promise<T> {
  try {
    return await call<T>(fetch, projectId, "GET", path);
  } catch (cause) {
    if (cause instanceof PortalApiError) error(cause.problem.status === 404 ? 404 : cause.problem.status >= 500 ? 502 : cause.problem.status, cause.message);
    throw cause;
  }
}

/**
 * Runs a portal action; returns its error message (with `fieldErrors`) for the page to show. A session that
 * ended meanwhile reloads the page's data, which then shows the "expired or revoked" page.
 */
export async function act(run: () => Promise<unknown>): Promise<{ message: string; fieldErrors: Record<string, string> } | null> {
  try {
    await run();
    return null;
  } catch (cause) {
    if (cause instanceof PortalApiError) return { message: cause.message, fieldErrors: cause.fieldErrors };
    await invalidateAll();
    return { message: ENDED_MESSAGE, fieldErrors: {} };
  }
}
