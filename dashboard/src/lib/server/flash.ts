/** @module One-shot notices ("Resend queued") carried across a 303 redirect in a short-lived httpOnly cookie. */
import type { Cookies } from "@sveltejs/kit";
import type { Flash } from "$lib/types";

const COOKIE = "ferry_flash";

export function setFlash(cookies: Cookies, url: URL, kind: Flash["kind"], message: string): void {
  const flash: Flash = { id: crypto.randomUUID(), kind, message };
  cookies.set(COOKIE, JSON.stringify(flash), {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: url.protocol === "https:",
    maxAge: 60,
  });
}

export function takeFlash(cookies: Cookies, url: URL): Flash | null {
  const raw = cookies.get(COOKIE);
  if (!raw) return null;
  cookies.delete(COOKIE, { path: "/", secure: url.protocol === "https:" });
  try {
    return JSON.parse(raw) as Flash;
  } catch {
    return null;
  }
}
