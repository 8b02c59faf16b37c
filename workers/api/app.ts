/**
 * @module The API app: middleware, every resource's routes under /api/v1, the OpenAPI document and /healthz.
 * Built in a function so that the Worker entry and tests share the same wiring.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { apiKeyAuth } from "./auth";
import type { AppEnv } from "./env";
import type { SendFirstAttempts } from "../ingest/dispatch";
import { projectScope } from "./project-scope";
import { Problem, fromZodError, handleError, problemResponse } from "./problem";
import { deliveryRoutes } from "./routes/deliveries";
import { endpointRoutes } from "./routes/endpoints/index";
import { eventRoutes } from "./routes/events";
import { adminProjects, currentProject } from "./routes/projects";
import { alertRoutes } from "./routes/alerts";
import { applicationRoutes } from "./routes/applications";
import { portalSessionRoutes, publicPortalRoutes } from "./routes/portal";
import { jobRoutes } from "./routes/jobs";
import { statsRoutes } from "./routes/stats";
import { svixApi } from "./svix/index";
import { VERSION } from "../version";

/** A whole request; a single event's payload has its own, smaller limit (MAX_PAYLOAD_BYTES). */
const REQUEST_BODY_LIMIT = 8 * 1024 * 1024;

/** `sendFirstAttempts`: the delivery path's fast path, from the Worker's entry (the API does not import delivery). */
export function createApp({ sendFirstAttempts }: { sendFirstAttempts?: SendFirstAttempts } = {}) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw fromZodError(result.error, result.target);
    },
  });
  app.onError(handleError);
  app.notFound((c) => problemResponse(c, new Problem("not-found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.use("*", requestId(), secureHeaders(), async (c, next) => {
    c.set("sendFirstAttempts", sendFirstAttempts);
    await next();
  });

  // POST too: readiness probes use it, because a dev proxy retries GETs and can hide a worker that is not ready.
  app.on(["GET", "POST"], "/healthz", async (c) => {
    try {
      await c.env.DB.prepare("select 1").first();
    } catch {
      throw new Problem("service-unavailable", "D1 does not answer");
    }
    return c.json({ ok: true, service: "ferry-api", version: VERSION });
  });

  const v1 = new OpenAPIHono<AppEnv>({ defaultHook: app.defaultHook });
  v1.use(
    "*",
    bodyLimit({
      maxSize: REQUEST_BODY_LIMIT,
      onError: () => {
        throw new Problem("payload-too-large", `Request bodies are limited to ${REQUEST_BODY_LIMIT} bytes`);
      },
    }),
  );
  // Registered before authentication: the document is public. It is built per request, so it lists every route.
  v1.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "A project API key, or the admin token" });
  v1.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Ferry API", version: VERSION, description: "Webhook delivery: events in, signed deliveries out, every attempt recorded." },
    servers: [{ url: "/api/v1" }],
  });
  v1.route("/projects", adminProjects);
  v1.route("/", publicPortalRoutes);
  v1.use("*", apiKeyAuth({ scope: "project" }), projectScope());
  for (const routes of [currentProject, applicationRoutes, portalSessionRoutes, endpointRoutes, eventRoutes, deliveryRoutes, jobRoutes, statsRoutes, alertRoutes]) v1.route("/", routes);
  app.route("/api/v1", v1);
  // Svix's API, for Svix's SDKs: its own errors and OpenAPI document (Svix's), so it is not in Ferry's.
  app.route("/svix/api/v1", svixApi());
  return app;
}
