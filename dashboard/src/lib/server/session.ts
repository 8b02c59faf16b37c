/** @module The sign-in session: one httpOnly, SameSite=Lax cookie holding the API token (never in URLs or storage). */
import type { Cookies } from "@sveltejs/kit";

export interface Session {
  /** "project": a project API key; "admin": the admin token acting for `projectId` once one is picked. */
  kind: "project" | "admin";
  token: string;
  projectId: string | null;
  projectName: string | null;
}

const COOKIE = "ferry_session";
const MAX_AGE = 60 * 60 * 24 * 7;

function options(url: URL) {
  // Secure whenever the dashboard itself is served over https (always on Pages); plain http only for local dev.
  return { path: "/", httpOnly: true, sameSite: "lax" as const, secure: url.protocol === "https:", maxAge: MAX_AGE };
}

export function readSession(cookies: Cookies): Session | null {
  const raw = cookies.get(COOKIE);
  if (!raw) return null;
  try {
    const value = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as Partial<Session>;
    if (typeof value.token !== "string" || (value.kind !== "project" && value.kind !== "admin")) return null;
    return {
      kind: value.kind,
      token: value.token,
      projectId: value.projectId ?? null,
      projectName: value.projectName ?? null,
    };
  } catch {
    return null;
  }
}

export function writeSession(cookies: Cookies, url: URL, session: Session): void {
  const bytes = new TextEncoder().encode(JSON.stringify(session));
  const encoded = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  cookies.set(COOKIE, encoded, options(url));
}

export function clearSession(cookies: Cookies, url: URL): void {
  cookies.delete(COOKIE, { ...options(url), maxAge: undefined });
}

/** Public view passed to pages: never the token. */
export function publicSession(session: Session) {
  return { kind: session.kind, projectId: session.projectId, projectName: session.projectName };
}
