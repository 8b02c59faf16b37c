/**
 * @module Projects (admin) and the calling project's own settings and API keys. Deleting a project (its own
 * key, or the admin by id) ends its keys and portal sessions at once and leaves its rows to a job.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { desc, eq, isNull } from "drizzle-orm";
import { PROJECT_DEFAULTS, config, retainedSince, retentionMs, retrySchedule } from "../../config";
import { database } from "../../db/client";
import { newId } from "../../db/ids";
import { createProjectWithKey, deleteProject, findProject, listApiKeys, metaEndpointUrlOf, revokeApiKey, setMetaEndpoint } from "../../db/projects";
import { apiKeys, projects, type ApiKey, type PortalSettings, type Project } from "../../db/schema";
import { checkEndpointUrl } from "../../outbound/url-guard";
import { enqueueJobStep } from "../../queue/delivery-queue";
import { apiKeyAuth, forgetCachedKeys, generateApiKey } from "../auth";
import type { AppEnv } from "../env";
import { IdParam, errorResponses, iso, jsonBody, jsonResponse, security } from "../openapi";
import { invalidField, notFound } from "../problem";
import { jobIdField } from "./jobs";

const Emails = z.array(z.email()).max(20);

const PortalSettingsOut = z
  .object({
    brandName: z.string().nullable(),
    logoUrl: z.string().nullable(),
    primaryColor: z.string().nullable(),
    allowedOrigins: z.array(z.string()).openapi({ description: "Sites that may embed the portal in an iframe (its CSP frame-ancestors)" }),
  })
  .openapi("PortalSettings");

const Origin = z
  .string()
  .max(200)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
    } catch {
      return false;
    }
  }, "an origin: scheme, host and port only, e.g. https://app.example.com");

const PortalSettingsPatch = z
  .strictObject({
    brandName: z.string().trim().min(1).max(100).nullable(),
    logoUrl: z.url({ protocol: /^https$/ }).max(2048).nullable().openapi({ description: "An https image URL" }),
    primaryColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, "a colour like #4f46e5").nullable(),
    allowedOrigins: z.array(Origin).max(20),
  })
  .partial();

const NO_PORTAL_SETTINGS: PortalSettings = { brandName: null, logoUrl: null, primaryColor: null, allowedOrigins: [] };
export const portalSettingsOf = (project: Project): PortalSettings => ({ ...NO_PORTAL_SETTINGS, ...project.portal });

const ProjectOut = z
  .object({
    id: z.string(),
    name: z.string(),
    alertEmails: z.array(z.string()),
    retrySchedule: z.array(z.number()).openapi({ description: "Seconds to wait after each failed attempt (effective)" }),
    circuitOpenAfter: z.number().int(),
    disableAfter: z.number().int(),
    disableAfterSeconds: z.number().int(),
    metaEndpointUrl: z.string().nullable(),
    metaEndpointId: z.string().nullable().openapi({ description: "Read its signing secret at /endpoints/{id}/secret" }),
    portal: PortalSettingsOut,
    retentionDays: z.number().int().openapi({ description: "Events, their deliveries and attempts are deleted this many days after they were sent" }),
    retentionSeconds: z.number().int().openapi({ description: "The retention in effect (a deployment may override retentionDays)" }),
    retainedSince: z.string().openapi({ description: "Data goes back to about this time; older data is deleted (pending deliveries are kept)" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Project");

const ProjectIn = z.strictObject({ name: z.string().trim().min(1).max(100), alertEmails: Emails.optional() }).openapi("ProjectIn");

const ProjectPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    alertEmails: Emails,
    retrySchedule: z.array(z.number().int().positive().max(7 * 86400)).min(1).max(30).nullable(),
    circuitOpenAfter: z.number().int().min(1).max(1000),
    disableAfter: z.number().int().min(1).max(100_000),
    disableAfterSeconds: z.number().int().min(0).max(30 * 86400),
    metaEndpointUrl: z.string().max(2048).nullable(),
    portal: PortalSettingsPatch.openapi({ description: "The customer portal's branding and the sites that may embed it; fields left out are kept" }),
    retentionDays: z.number().int().min(1).max(365),
  })
  .partial()
  .openapi("ProjectPatch");

/** Naming the project again in the body: a delete is never one stray request (a replayed URL, a fuzzer) away. */
const ProjectDeleteIn = z
  .strictObject({ confirm: z.string().max(64).openapi({ description: "The id of the project being deleted" }) })
  .openapi("ProjectDeleteIn");

const ProjectDeleted = z
  .object({
    jobId: jobIdField.openapi({
      description:
        "The `project.delete` job deleting its rows in bounded steps; the admin follows it at GET /jobs/{id} (with `ferry-project`). It answers 404 once done: the job is the project's last row.",
    }),
  })
  .openapi("ProjectDeleted");

/** What both delete routes (the project's own and the admin's) document. */
const projectDelete = {
  method: "delete",
  description:
    "At once: its API keys and portal sessions stop working, every route answers 401 or 404 for it, and nothing more is sent to its endpoints. Then a job deletes its attempts, deliveries, events (and their stored bodies), alerts, endpoints, applications, event types, API keys and idempotent responses, and finally the project.",
  security,
  responses: { 202: jsonResponse(ProjectDeleted, "Deleted; its rows are being deleted"), ...errorResponses },
} as const;

async function startProjectDelete(env: Env, projectId: string, confirm: string) {
  if (confirm !== projectId) throw invalidField("confirm", "must be the id of the project being deleted");
  const job = await deleteProject(database(env), projectId);
  if (!job) throw notFound("project");
  // This isolate's cached keys of the project die with it now; other isolates' within the cache's 30 s.
  forgetCachedKeys();
  await enqueueJobStep(env, job.id);
  return { jobId: job.id };
}

const ApiKeyOut = z
  .object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() })
  .openapi("ApiKey");

function projectOut(env: Env, project: Project, metaEndpointUrl: string | null = null): z.infer<typeof ProjectOut> {
  return {
    id: project.id,
    name: project.name,
    alertEmails: project.alertEmails,
    retrySchedule: retrySchedule(env, project.retrySchedule),
    circuitOpenAfter: project.circuitOpenAfter,
    disableAfter: project.disableAfter,
    disableAfterSeconds: project.disableAfterSeconds,
    metaEndpointUrl,
    metaEndpointId: project.metaEndpointId,
    portal: portalSettingsOf(project),
    retentionDays: project.retentionDays,
    retentionSeconds: Math.round(retentionMs(env, project) / 1000),
    retainedSince: retainedSince(env, project).toISOString(),
    createdAt: project.createdAt.toISOString(),
    updatedAt: project.updatedAt.toISOString(),
  };
}

const apiKeyOut = (key: ApiKey) => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  createdAt: key.createdAt.toISOString(),
  lastUsedAt: iso(key.lastUsedAt),
  revokedAt: iso(key.revokedAt),
});

export const adminProjects = new OpenAPIHono<AppEnv>();
adminProjects.use("*", apiKeyAuth({ scope: "admin" }));

adminProjects.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "v1.project.create",
    summary: "Create a project and its first API key (shown once)",
    security,
    request: { body: jsonBody(ProjectIn) },
    responses: { 201: jsonResponse(ProjectOut.extend({ apiKey: z.string() }), "Created"), ...errorResponses },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const key = await generateApiKey();
    const project = await createProjectWithKey(
      database(c.env),
      { name: input.name, alertEmails: input.alertEmails ?? [], retrySchedule: null, ...PROJECT_DEFAULTS, metaEndpointId: null, retentionCursor: null, portal: null, deletedAt: null },
      key,
    );
    return c.json({ ...projectOut(c.env, project), apiKey: key.key }, 201);
  },
);

adminProjects.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "v1.project.list",
    summary: "List projects",
    security,
    responses: { 200: jsonResponse(z.object({ data: z.array(ProjectOut) }), "Projects"), ...errorResponses },
  }),
  async (c) => {
    const rows = await database(c.env).select().from(projects).where(isNull(projects.deletedAt)).orderBy(desc(projects.id)).all();
    return c.json({ data: rows.map((row) => projectOut(c.env, row)) }, 200);
  },
);

adminProjects.openapi(
  createRoute({ ...projectDelete, path: "/{id}", operationId: "v1.project.admin-delete", summary: "Delete a project and everything in it", request: { params: IdParam, body: jsonBody(ProjectDeleteIn) } }),
  async (c) => c.json(await startProjectDelete(c.env, c.req.valid("param").id, c.req.valid("json").confirm), 202),
);

export const currentProject = new OpenAPIHono<AppEnv>();

currentProject.openapi(
  createRoute({
    method: "get",
    path: "/project",
    operationId: "v1.project.get",
    summary: "The calling project's settings",
    security,
    responses: { 200: jsonResponse(ProjectOut, "Project"), ...errorResponses },
  }),
  async (c) => {
    const db = c.var.db;
    const project = await findProject(db, c.var.projectId);
    if (!project) throw notFound("project");
    return c.json(projectOut(c.env, project, await metaEndpointUrlOf(db, project)), 200);
  },
);

currentProject.openapi(
  createRoute({
    method: "patch",
    path: "/project",
    operationId: "v1.project.update",
    summary: "Change settings: name, alert emails, retry schedule, endpoint-health thresholds, meta endpoint, retention",
    security,
    request: { body: jsonBody(ProjectPatch) },
    responses: { 200: jsonResponse(ProjectOut, "Updated"), ...errorResponses },
  }),
  async (c) => {
    const patch = c.req.valid("json");
    const projectId = c.var.projectId;
    const db = c.var.db;
    const project = await findProject(db, projectId);
    if (!project) throw notFound("project");
    const { metaEndpointUrl, portal, ...settings } = patch;
    const changes: Partial<Project> = { ...settings, updatedAt: new Date() };
    if (portal) changes.portal = { ...portalSettingsOf(project), ...portal };
    if (metaEndpointUrl !== undefined) {
      let url: string | null = null;
      if (metaEndpointUrl !== null) {
        const verdict = checkEndpointUrl(metaEndpointUrl, config(c.env));
        if (!verdict.ok) throw invalidField("metaEndpointUrl", verdict.reason);
        url = verdict.url.href;
      }
      changes.metaEndpointId = await setMetaEndpoint(db, project, url);
    }
    const [updated] = await db.update(projects).set(changes).where(eq(projects.id, projectId)).returning();
    return c.json(projectOut(c.env, updated, await metaEndpointUrlOf(db, updated)), 200);
  },
);

currentProject.openapi(
  createRoute({ ...projectDelete, path: "/project", operationId: "v1.project.delete", summary: "Delete the calling project and everything in it", request: { body: jsonBody(ProjectDeleteIn) } }),
  async (c) => c.json(await startProjectDelete(c.env, c.var.projectId, c.req.valid("json").confirm), 202),
);

currentProject.openapi(
  createRoute({
    method: "post",
    path: "/api-keys",
    operationId: "v1.api-key.create",
    summary: "Create another API key (shown once)",
    security,
    request: { body: { ...jsonBody(z.strictObject({ name: z.string().trim().min(1).max(100).optional() })), required: false } },
    responses: { 201: jsonResponse(ApiKeyOut.extend({ apiKey: z.string() }), "Created"), ...errorResponses },
  }),
  async (c) => {
    const input = c.req.valid("json") ?? {};
    const key = await generateApiKey();
    const row: ApiKey = {
      id: newId("apiKey"),
      projectId: c.var.projectId,
      name: input.name ?? "api key",
      prefix: key.prefix,
      hashedKey: key.hashedKey,
      lastUsedAt: null,
      revokedAt: null,
      createdAt: new Date(),
    };
    await c.var.db.insert(apiKeys).values(row);
    return c.json({ ...apiKeyOut(row), apiKey: key.key }, 201);
  },
);

currentProject.openapi(
  createRoute({
    method: "get",
    path: "/api-keys",
    operationId: "v1.api-key.list",
    summary: "List API keys (never the keys themselves)",
    security,
    responses: { 200: jsonResponse(z.object({ data: z.array(ApiKeyOut) }), "API keys"), ...errorResponses },
  }),
  async (c) => {
    const keys = await listApiKeys(c.var.db, c.var.projectId);
    return c.json({ data: keys.map(apiKeyOut) }, 200);
  },
);

currentProject.openapi(
  createRoute({
    method: "delete",
    path: "/api-keys/{id}",
    operationId: "v1.api-key.revoke",
    summary: "Revoke an API key",
    security,
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses },
  }),
  async (c) => {
    const revoked = await revokeApiKey(c.var.db, c.var.projectId, c.req.valid("param").id);
    forgetCachedKeys();
    if (!revoked) throw notFound("api key");
    return c.body(null, 204);
  },
);
