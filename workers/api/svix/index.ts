/**
 * @module The Svix-compatible API, mounted at `/svix` so that Svix's SDKs work with `serverUrl: <ferry>/svix`
 * (they append `/api/v1/…`). A thin translation onto Ferry's own queries, ingest and delivery path; it answers
 * in Svix's shapes (errors included) and is documented by Svix's own OpenAPI document, not Ferry's.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { apiKeyAuth } from "../auth";
import type { AppEnv } from "../env";
import { projectScope } from "../project-scope";
import { createPortalLink } from "../routes/applications";
import { portalGrantOf } from "../scope";
import { ApplicationIn, applicationOrCreate, svixApplications } from "./applications";
import { svixAttempts } from "./attempts";
import { svixEndpoints } from "./endpoints";
import { SvixError, notFound, svixErrorResponse } from "./errors";
import { svixEventTypes } from "./event-types";
import { idempotency } from "./idempotency";
import { svixMessages } from "./messages";
import { readBody } from "./wire";
import { z } from "@hono/zod-openapi";

const REQUEST_BODY_LIMIT = 8 * 1024 * 1024;

/** Svix checks that the server answers and that its database does. */
async function health(c: { env: Env; body: (body: null, status: 204) => Response }) {
  try {
    await c.env.DB.prepare("select 1").first();
  } catch {
    throw new SvixError(503, "service_unavailable", "D1 does not answer");
  }
  return c.body(null, 204);
}

export function svixApi() {
  const api = new Hono<AppEnv>();
  api.onError(svixErrorResponse);
  api.get("/health", health);
  api.get("/health/ping", health);
  api.use(
    "*",
    bodyLimit({
      maxSize: REQUEST_BODY_LIMIT,
      onError: () => {
        throw new SvixError(413, "payload_too_large", `Request bodies are limited to ${REQUEST_BODY_LIMIT} bytes`);
      },
    }),
  );
  api.use("*", apiKeyAuth({ scope: "project" }), projectScope());
  api.use("*", async (c, next) => {
    // A customer's portal session works in the portal only; the Svix API takes a project's API key.
    if (portalGrantOf(c.get("principal"))) {
      throw new SvixError(403, "insufficient_access", "The Svix API takes a project API key.");
    }
    await next();
  });
  api.use("*", idempotency);
  for (const routes of [svixApplications, svixEndpoints, svixMessages, svixAttempts, svixEventTypes]) api.route("/", routes);

  /** Svix's app portal access is Ferry's portal link: a signed, expiring capability for one application. */
  api.post("/auth/app-portal-access/:app_id", async (c) => {
    const input = await readBody(c, z.object({ application: ApplicationIn.nullish(), expiry: z.number().int().min(60).max(30 * 86_400).nullish(), readOnly: z.boolean().nullish() }));
    const application = await applicationOrCreate(c, c.req.param("app_id"), input.application);
    if (!application) throw notFound("application");
    const link = await createPortalLink(c.env, application, { expiresInSeconds: input.expiry ?? undefined, readOnly: input.readOnly ?? undefined });
    return c.json({ url: link.url, token: link.token });
  });
  /** Svix's logout ends the session of a dashboard token; an API key is revoked with Ferry's DELETE /api-keys/:id. */
  api.post("/auth/logout", (c) => c.body(null, 204));

  api.all("*", (c) => {
    throw new SvixError(404, "not_found", `No Svix route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  });
  return api;
}

