/**
 * @module `idempotency-key` on Svix POSTs (the SDK sends `auto_<uuid>` on every one and retries 5xx): the first
 * answer below 500 is stored per project for a day and replayed to every retry, so a retried create never
 * creates twice. A retry that arrives while the first request still runs gets a 409.
 */
import type { MiddlewareHandler } from "hono";
import { claimIdempotencyKey, pruneExpired, releaseIdempotencyKey, storeIdempotentResponse } from "../../db/idempotency";
import type { AppEnv } from "../env";
import { SvixError, invalid } from "./errors";

const MAX_KEY_LENGTH = 256;

export const idempotency: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (!key || c.req.method !== "POST") return next();
  if (key.length > MAX_KEY_LENGTH) throw invalid(["header", "idempotency-key"], `at most ${MAX_KEY_LENGTH} characters`);
  const db = c.var.db;
  const projectId = c.var.projectId;
  const url = new URL(c.req.url);
  const request = `${c.req.method} ${url.pathname}${url.search}`;
  const claim = await claimIdempotencyKey(db, projectId, key, request);
  c.executionCtx.waitUntil(pruneExpired(db));
  switch (claim.kind) {
    case "answered":
      return c.newResponse(claim.response.body, claim.response.status as 200, { "content-type": "application/json", "idempotent-replayed": "true" });
    case "in-progress":
      throw new SvixError(409, "conflict", "A request with this idempotency key is still being processed; retry in a moment.");
    case "other-request":
      throw new SvixError(422, "idempotency_key_reused", `This idempotency key was used for another request (${claim.request}).`);
  }
  try {
    await next();
  } catch (error) {
    await releaseIdempotencyKey(db, projectId, key);
    throw error;
  }
  if (c.res.status >= 500) {
    await releaseIdempotencyKey(db, projectId, key);
    return;
  }
  await storeIdempotentResponse(db, projectId, key, { status: c.res.status, body: c.res.status === 204 ? "" : await c.res.clone().text() });
};
