/**
 * @module Bearer authentication: the admin token, or a project API key looked up by its SHA-256.
 * Tenancy starts here: a project-scoped request carries exactly one `projectId`.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { database, type Database } from "../db/client";
import { apiKeys, projects } from "../db/schema";
import { isPortalToken } from "../portal/capability";
import type { AppEnv } from "./env";
import { checkPortalRoute, verifiedPortalClaims, type PortalGrant } from "./portal-scope";
import { Problem } from "./problem";

/** `portal`: a customer's portal session, confined to one application of the project. */
export type Principal = { kind: "admin" } | { kind: "project"; projectId: string; viaAdmin: boolean; portal?: PortalGrant };
export type AuthVariables = { principal: Principal };

/**
 * While a deleted project's delete job runs, the admin may still follow it at GET /jobs/{id}; every other
 * route answers 404 for it. Once the job ends, the job goes with the project's last row.
 */
const readableAfterDelete = (method: string, path: string) => method === "GET" && /^\/api\/v1\/jobs\/[^/]+$/.test(path);

/** Admins act on one project by naming it in this header. */
const PROJECT_HEADER = "ferry-project";
const KEY_PREFIX = "ferry_sk_";
const LAST_USED_PRECISION_MS = 3_600_000;

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

async function sha256Hex(value: string): Promise<string> {
  let hex = "";
  for (const byte of new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)))) hex += HEX_BYTES[byte];
  return hex;
}

/** Compares two digests of the same length without stopping at the first difference. */
function digestsEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** The admin token's digest, computed once per isolate (and again only if the token changes). */
let adminDigest: { token: string; digest: string } | undefined;
async function adminTokenDigest(token: string): Promise<string> {
  if (adminDigest?.token !== token) adminDigest = { token, digest: await sha256Hex(token) };
  return adminDigest.digest;
}

/** A new API key: the plaintext (shown once), its display prefix and the hash that is stored. */
export async function generateApiKey() {
  const random = crypto.getRandomValues(new Uint8Array(32));
  const key = KEY_PREFIX + btoa(String.fromCharCode(...random)).replace(/[+/=]/g, (ch) => ({ "+": "-", "/": "_", "=": "" })[ch]!);
  return { key, prefix: key.slice(0, KEY_PREFIX.length + 6), hashedKey: await sha256Hex(key) };
}

export type ApiKeyAuthOptions = { scope: "admin" | "project" };

/**
 * @example app.use("/projects/*", apiKeyAuth({ scope: "admin" }))
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): MiddlewareHandler<AppEnv> {
  return async function apiKeyAuth(c, next) {
    const header = c.req.header("authorization") ?? "";
    const token = header.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!token) throw new Problem("unauthorized", "Send an API key as `Authorization: Bearer <key>`.");

    if (options.scope === "project" && isPortalToken(token, "session")) {
      const claims = await verifiedPortalClaims(database(c.env), token, "session");
      const portal = { applicationId: claims.applicationId, readOnly: claims.readOnly };
      checkPortalRoute(portal, c.req.method, c.req.path.replace(/^\/api\/v1/, ""));
      c.set("principal", { kind: "project", projectId: claims.projectId, viaAdmin: false, portal });
      return next();
    }

    // One digest per request serves both checks: compared with the admin token's, and the key lookup's.
    const tokenDigest = await sha256Hex(token);
    const isAdmin = c.env.ADMIN_TOKEN ? digestsEqual(tokenDigest, await adminTokenDigest(c.env.ADMIN_TOKEN)) : false;
    if (options.scope === "admin") {
      if (isAdmin) {
        c.set("principal", { kind: "admin" });
        return next();
      }
      // 403 only for a caller we know (a project key); an unknown token has not authenticated at all.
      if (await findLiveKey(database(c.env), tokenDigest)) throw new Problem("forbidden", "This route needs the admin token.");
      throw new Problem("unauthorized", "Unknown API key or admin token.");
    }

    if (isAdmin) {
      const projectId = c.req.header(PROJECT_HEADER);
      if (!projectId) throw new Problem("malformed-request", `Admins name the project in the \`${PROJECT_HEADER}\` header.`);
      const project = await database(c.env).select({ deletedAt: projects.deletedAt }).from(projects).where(eq(projects.id, projectId)).get();
      if (!project || (project.deletedAt && !readableAfterDelete(c.req.method, c.req.path))) throw new Problem("not-found", "project not found");
      c.set("principal", { kind: "project", projectId, viaAdmin: true });
      return next();
    }

    const db = database(c.env);
    const key = await findLiveKey(db, tokenDigest);
    if (!key) throw new Problem("unauthorized", "Unknown or revoked API key.");
    // Recorded at most hourly so that reads stay free of writes.
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_PRECISION_MS) {
      key.lastUsedAt = new Date();
      c.executionCtx.waitUntil(db.update(apiKeys).set({ lastUsedAt: key.lastUsedAt }).where(eq(apiKeys.id, key.id)).run());
    }
    c.set("principal", { kind: "project", projectId: key.projectId, viaAdmin: false });
    await next();
  };
}

type LiveKey = { id: string; projectId: string; lastUsedAt: Date | null };

/**
 * Keys seen in the last 30 s, by hash: most requests then authenticate without a D1 read. A revocation is
 * seen at once by the isolate that made it (it empties this cache) and within 30 s by the others; so is a
 * project delete.
 */
const keyCache = new Map<string, { key: LiveKey; until: number }>();
const KEY_CACHE_MS = 30_000;
const KEY_CACHE_LIMIT = 10_000;

export function forgetCachedKeys(): void {
  keyCache.clear();
}

async function findLiveKey(db: Database, hashedKey: string): Promise<LiveKey | undefined> {
  const cached = keyCache.get(hashedKey);
  if (cached && cached.until > Date.now()) return cached.key;
  // A deleted project's keys are dead at once: the project row is read with the key (one primary-key lookup).
  const key = await db
    .select({ id: apiKeys.id, projectId: apiKeys.projectId, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .innerJoin(projects, and(eq(projects.id, apiKeys.projectId), isNull(projects.deletedAt)))
    .where(and(eq(apiKeys.hashedKey, hashedKey), isNull(apiKeys.revokedAt)))
    .get();
  if (key) {
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
    keyCache.set(hashedKey, { key, until: Date.now() + KEY_CACHE_MS });
  } else {
    keyCache.delete(hashedKey);
  }
  return key;
}

/** The project a project-scoped request acts on. */
export function projectIdOf(principal: Principal): string {
  if (principal.kind !== "project") throw new Problem("forbidden", "This route needs a project API key.");
  return principal.projectId;
}
