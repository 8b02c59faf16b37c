/**
 * @module Portal capabilities: signed, expiring tokens that grant one application of one project, never the
 * project's API key. A *link* token travels in the portal URL's fragment and is only good for opening a
 * *session*; the session token is short-lived and sent as a bearer header. Both are HMAC-SHA256 over their
 * claims with the application's `portalKey`, so replacing that key (revocation) ends every link and session.
 *
 * Format: `ferry_pl_` (link) or `ferry_ps_` (session), then base64url(JSON claims) "." base64url(MAC).
 */
export type PortalTokenKind = "link" | "session";

export type PortalClaims = {
  kind: PortalTokenKind;
  projectId: string;
  applicationId: string;
  readOnly: boolean;
  /** Unix ms. */
  expiresAt: number;
  /** Unix ms: the link's own expiry, which no session it opened (or renewal of one) outlives. */
  renewableUntil: number;
};

/** How long a session token lives before the portal renews it (it never outlives its link). */
const SESSION_TTL_MS = 3_600_000;

export function sessionClaims(from: PortalClaims, now = Date.now()): PortalClaims {
  return { ...from, kind: "session", expiresAt: Math.min(now + SESSION_TTL_MS, from.renewableUntil) };
}

const PREFIX: Record<PortalTokenKind, string> = { link: "ferry_pl_", session: "ferry_ps_" };

export const isPortalToken = (token: string, kind: PortalTokenKind) => token.startsWith(PREFIX[kind]);

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

function hmacKey(portalKey: string) {
  return crypto.subtle.importKey("raw", encoder.encode(portalKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export async function signPortalToken(claims: PortalClaims, portalKey: string): Promise<string> {
  const body = base64url(encoder.encode(JSON.stringify(claims)));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(portalKey), encoder.encode(PREFIX[claims.kind] + body)));
  return `${PREFIX[claims.kind]}${body}.${base64url(mac)}`;
}

/**
 * The claims a token *says* it carries, so the caller can find the application whose key verifies it.
 * Nothing here is trusted until `verifyPortalToken` has passed.
 */
export function readPortalClaims(token: string, kind: PortalTokenKind): PortalClaims | undefined {
  if (!isPortalToken(token, kind)) return undefined;
  const [body, mac, extra] = token.slice(PREFIX[kind].length).split(".");
  if (!body || !mac || extra !== undefined) return undefined;
  try {
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(body))) as PortalClaims;
    const wellFormed =
      claims.kind === kind &&
      typeof claims.projectId === "string" &&
      typeof claims.applicationId === "string" &&
      typeof claims.readOnly === "boolean" &&
      typeof claims.expiresAt === "number" &&
      typeof claims.renewableUntil === "number";
    return wellFormed ? claims : undefined;
  } catch {
    return undefined;
  }
}

/** True when the MAC matches `portalKey` (constant time, by WebCrypto) and the token has not expired. */
export async function verifyPortalToken(token: string, claims: PortalClaims, portalKey: string, now = Date.now()): Promise<boolean> {
  if (claims.expiresAt <= now) return false;
  const prefix = PREFIX[claims.kind];
  const [body, mac] = token.slice(prefix.length).split(".");
  try {
    return await crypto.subtle.verify("HMAC", await hmacKey(portalKey), fromBase64url(mac), encoder.encode(prefix + body));
  } catch {
    return false;
  }
}
