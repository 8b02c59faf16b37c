/**
 * @module Applications (a project's customers) and their portal links. `:id` is an application id or its uid.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { config } from "../../config";
import { createApplication, deleteApplication, listApplications, newPortalKey, updateApplication } from "../../db/applications";
import type { Application } from "../../db/schema";
import { signPortalToken } from "../../portal/capability";
import { enqueueJobStep } from "../../queue/delivery-queue";
import type { AppEnv } from "../env";
import { ListQuery, errorResponses, jsonBody, jsonResponse, listOf, pageOf, security } from "../openapi";
import { Problem, notFound } from "../problem";
import { requireApplication } from "../scope";
import { jobIdField } from "./jobs";

const Uid = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-zA-Z0-9\-_.]+$/, "letters, digits, - _ and . only")
  .refine((uid) => !uid.startsWith("app_"), "must not start with app_ (that is how application ids start)");

export const applicationFields = {
  name: z.string().trim().min(1).max(256),
  uid: Uid.nullable().openapi({ description: "Your own id for this customer, unique in the project; usable wherever an application id is" }),
  metadata: z
    .record(z.string().max(256), z.string().max(1024))
    .refine((metadata) => Object.keys(metadata).length <= 50, "at most 50 keys")
    .openapi({ description: "Your own string labels" }),
  rateLimitPerSecond: z.number().int().min(1).max(10_000).nullable().openapi({ description: "The rate limit endpoints created in it start with" }),
};

const ApplicationIn = z
  .strictObject({
    name: applicationFields.name,
    uid: applicationFields.uid.optional(),
    metadata: applicationFields.metadata.optional(),
    rateLimitPerSecond: applicationFields.rateLimitPerSecond.optional(),
  })
  .openapi("ApplicationIn");
const ApplicationPatch = z.strictObject(applicationFields).partial().openapi("ApplicationPatch");

export const ApplicationOut = z
  .object({
    id: z.string(),
    uid: z.string().nullable(),
    name: z.string(),
    metadata: z.record(z.string(), z.string()),
    rateLimitPerSecond: z.number().int().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Application");

export const applicationOut = (row: Application): z.infer<typeof ApplicationOut> => ({
  id: row.id,
  uid: row.uid,
  name: row.name,
  metadata: row.metadata,
  rateLimitPerSecond: row.rateLimitPerSecond,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

const ApplicationParam = z.object({ id: z.string().min(1).max(256).openapi({ param: { name: "id", in: "path" }, description: "Application id or uid" }) });

/** drizzle wraps D1's error in its own "Failed query" error; the constraint is named in the cause. */
export const isUniqueViolation = (error: unknown) => /UNIQUE constraint failed/i.test(`${error} ${(error as Error)?.cause ?? ""}`);
const uidTaken = (uid: string | null | undefined) => new Problem("conflict", `uid: an application with uid "${uid}" already exists`, [{ path: "uid", message: "already in use" }]);

const DEFAULT_LINK_SECONDS = 7 * 86_400;
const MAX_LINK_SECONDS = 30 * 86_400;

/** A signed, expiring portal link for one application; `token` is the capability carried in its fragment. */
export async function createPortalLink(env: Env, application: Application, input: { expiresInSeconds?: number; readOnly?: boolean }) {
  const expiresAt = Date.now() + (input.expiresInSeconds ?? DEFAULT_LINK_SECONDS) * 1000;
  const readOnly = input.readOnly ?? false;
  const token = await signPortalToken(
    { kind: "link", projectId: application.projectId, applicationId: application.id, readOnly, expiresAt, renewableUntil: expiresAt },
    application.portalKey,
  );
  // In the fragment, the capability is never sent to a server, logged or leaked in a Referer.
  return { url: `${config(env).dashboardUrl}/portal/${application.projectId}#${token}`, token, expiresAt: new Date(expiresAt), readOnly };
}

export const applicationRoutes = new OpenAPIHono<AppEnv>();

applicationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/applications",
    operationId: "v1.application.create",
    summary: "Create an application: one of your customers, with endpoints of its own",
    security,
    request: { body: jsonBody(ApplicationIn) },
    responses: { 201: jsonResponse(ApplicationOut, "Created"), 409: errorResponses[422], ...errorResponses },
  }),
  async (c) => {
    const input = c.req.valid("json");
    try {
      const row = await createApplication(c.var.db, c.var.projectId, {
        name: input.name,
        uid: input.uid ?? null,
        metadata: input.metadata ?? {},
        rateLimitPerSecond: input.rateLimitPerSecond ?? null,
      });
      return c.json(applicationOut(row), 201);
    } catch (error) {
      if (isUniqueViolation(error)) throw uidTaken(input.uid);
      throw error;
    }
  },
);

applicationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/applications",
    operationId: "v1.application.list",
    summary: "List applications, newest first",
    security,
    request: { query: ListQuery },
    responses: { 200: jsonResponse(listOf(ApplicationOut), "Applications"), ...errorResponses },
  }),
  async (c) => {
    const page = c.req.valid("query");
    const rows = await listApplications(c.var.db, c.var.projectId, page);
    const { items, nextCursor } = pageOf(rows, page.limit, (row) => row.id);
    return c.json({ data: items.map(applicationOut), nextCursor }, 200);
  },
);

applicationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/applications/{id}",
    operationId: "v1.application.get",
    summary: "One application, by id or uid",
    security,
    request: { params: ApplicationParam },
    responses: { 200: jsonResponse(ApplicationOut, "Application"), ...errorResponses },
  }),
  async (c) => c.json(applicationOut(await requireApplication(c, c.req.valid("param").id)), 200),
);

applicationRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/applications/{id}",
    operationId: "v1.application.update",
    summary: "Change an application",
    security,
    request: { params: ApplicationParam, body: jsonBody(ApplicationPatch) },
    responses: { 200: jsonResponse(ApplicationOut, "Updated"), 409: errorResponses[422], ...errorResponses },
  }),
  async (c) => {
    const patch = c.req.valid("json");
    const application = await requireApplication(c, c.req.valid("param").id);
    try {
      const updated = await updateApplication(c.var.db, application.projectId, application.id, patch);
      if (!updated) throw notFound("application");
      return c.json(applicationOut(updated), 200);
    } catch (error) {
      if (isUniqueViolation(error)) throw uidTaken(patch.uid);
      throw error;
    }
  },
);

applicationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/applications/{id}",
    operationId: "v1.application.delete",
    summary: "Delete an application at once (its portal links stop working); a job deletes its endpoints and fails their pending deliveries",
    security,
    request: { params: ApplicationParam },
    responses: { 202: jsonResponse(z.object({ jobId: jobIdField }), "Deleted; its endpoints and their pending deliveries are being deleted"), ...errorResponses },
  }),
  async (c) => {
    const application = await requireApplication(c, c.req.valid("param").id);
    const job = await deleteApplication(c.var.db, application.projectId, application.id);
    if (!job) throw notFound("application");
    await enqueueJobStep(c.env, job.id);
    return c.json({ jobId: job.id }, 202);
  },
);

const PortalLinkIn = z
  .strictObject({
    expiresInSeconds: z.number().int().min(1).max(MAX_LINK_SECONDS).optional().openapi({ description: `Default ${DEFAULT_LINK_SECONDS} (7 days)` }),
    readOnly: z.boolean().optional().openapi({ description: "The customer may look but change nothing (no secrets revealed)" }),
  })
  .openapi("PortalLinkIn");

const PortalLinkOut = z
  .object({
    url: z.string().openapi({ description: "Open it, hand it out or put it in an <iframe>; the capability is in its #fragment" }),
    expiresAt: z.string(),
    readOnly: z.boolean(),
  })
  .openapi("PortalLink");

applicationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/applications/{id}/portal-links",
    operationId: "v1.application.create-portal-link",
    summary: "A link to this application's customer portal: a signed, expiring capability for it alone (never your API key)",
    security,
    request: { params: ApplicationParam, body: { ...jsonBody(PortalLinkIn), required: false } },
    responses: { 201: jsonResponse(PortalLinkOut, "Created"), ...errorResponses },
  }),
  async (c) => {
    const application = await requireApplication(c, c.req.valid("param").id);
    const { url, expiresAt, readOnly } = await createPortalLink(c.env, application, c.req.valid("json") ?? {});
    return c.json({ url, expiresAt: expiresAt.toISOString(), readOnly }, 201);
  },
);

applicationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/applications/{id}/portal-links",
    operationId: "v1.application.revoke-portal-links",
    summary: "Revoke every portal link of this application and end every session they opened",
    security,
    request: { params: ApplicationParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses },
  }),
  async (c) => {
    const application = await requireApplication(c, c.req.valid("param").id);
    await updateApplication(c.var.db, application.projectId, application.id, { portalKey: newPortalKey() });
    return c.body(null, 204);
  },
);
