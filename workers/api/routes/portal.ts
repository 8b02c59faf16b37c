/**
 * @module The customer portal's own routes: open a session from a link, renew it, say who it is for and how
 * the portal looks, and the framing policy the dashboard puts on portal pages. Everything else a portal does
 * goes through the ordinary routes, narrowed by portal-scope.ts.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { database } from "../../db/client";
import { findApplication } from "../../db/applications";
import { findProject } from "../../db/projects";
import { sessionClaims, signPortalToken, type PortalClaims } from "../../portal/capability";
import type { AppEnv } from "../env";
import { errorResponses, jsonBody, jsonResponse, security } from "../openapi";
import { verifiedPortalClaims } from "../portal-scope";
import { Problem, notFound } from "../problem";
import { portalGrantOf } from "../scope";
import { applicationOut } from "./applications";
import { portalSettingsOf } from "./projects";

const PortalSessionInfo = z
  .object({
    readOnly: z.boolean(),
    application: z.object({ id: z.string(), uid: z.string().nullable(), name: z.string() }),
    branding: z.object({ brandName: z.string().nullable(), logoUrl: z.string().nullable(), primaryColor: z.string().nullable() }),
  })
  .openapi("PortalSessionInfo");

const PortalSessionOut = PortalSessionInfo.extend({
  token: z.string().openapi({ description: "Send as `Authorization: Bearer <token>`; renew it before `expiresAt`" }),
  expiresAt: z.string(),
}).openapi("PortalSession");

async function sessionInfo(db: ReturnType<typeof database>, projectId: string, applicationId: string, readOnly: boolean): Promise<z.infer<typeof PortalSessionInfo>> {
  const [project, application] = await Promise.all([findProject(db, projectId), findApplication(db, projectId, applicationId)]);
  if (!project || !application) throw notFound("application");
  const { brandName, logoUrl, primaryColor } = portalSettingsOf(project);
  const { id, uid, name } = applicationOut(application);
  return { readOnly, application: { id, uid, name }, branding: { brandName, logoUrl, primaryColor } };
}

async function openSession(db: ReturnType<typeof database>, from: PortalClaims) {
  const application = await findApplication(db, from.projectId, from.applicationId);
  if (!application) throw new Problem("unauthorized", "This portal link has expired or was revoked. Ask for a new link.");
  const claims = sessionClaims(from);
  return {
    ...(await sessionInfo(db, from.projectId, from.applicationId, from.readOnly)),
    token: await signPortalToken(claims, application.portalKey),
    expiresAt: new Date(claims.expiresAt).toISOString(),
  };
}

/** Reached without an API key: a link token or nothing secret at all. */
export const publicPortalRoutes = new OpenAPIHono<AppEnv>();

publicPortalRoutes.openapi(
  createRoute({
    method: "post",
    path: "/portal/sessions",
    operationId: "v1.portal.open-session",
    summary: "Exchange a portal link's token (the URL fragment) for a short-lived session token",
    request: { body: jsonBody(z.strictObject({ link: z.string().min(1).max(4096) })) },
    responses: { 201: jsonResponse(PortalSessionOut, "Session"), ...errorResponses },
  }),
  async (c) => {
    const db = database(c.env);
    const claims = await verifiedPortalClaims(db, c.req.valid("json").link, "link");
    return c.json(await openSession(db, claims), 201);
  },
);

publicPortalRoutes.openapi(
  createRoute({
    method: "get",
    path: "/portal/frame-ancestors/{projectId}",
    operationId: "v1.portal.frame-ancestors",
    summary: "The origins allowed to embed this project's portal: what its pages send as CSP frame-ancestors",
    request: { params: z.object({ projectId: z.string().min(1).max(64).openapi({ param: { name: "projectId", in: "path" } }) }) },
    responses: { 200: jsonResponse(z.object({ allowedOrigins: z.array(z.string()) }), "Allowed origins"), ...errorResponses },
  }),
  async (c) => {
    const project = await findProject(database(c.env), c.req.valid("param").projectId);
    // An unknown project may be framed by nobody, and is not told apart from a known one that allows nobody.
    return c.json({ allowedOrigins: project ? portalSettingsOf(project).allowedOrigins : [] }, 200);
  },
);

/** Reached with a portal session token. */
export const portalSessionRoutes = new OpenAPIHono<AppEnv>();

const requirePortal = (principal: AppEnv["Variables"]["principal"]) => {
  const grant = portalGrantOf(principal);
  if (!grant || principal.kind !== "project") throw new Problem("forbidden", "This route needs a portal session.");
  return { ...grant, projectId: principal.projectId };
};

portalSessionRoutes.openapi(
  createRoute({
    method: "get",
    path: "/portal/session",
    operationId: "v1.portal.session",
    summary: "Who the portal session is for, whether it is read-only, and the project's branding",
    security,
    responses: { 200: jsonResponse(PortalSessionInfo, "Session"), ...errorResponses },
  }),
  async (c) => {
    const grant = requirePortal(c.get("principal"));
    return c.json(await sessionInfo(c.var.db, grant.projectId, grant.applicationId, grant.readOnly), 200);
  },
);

portalSessionRoutes.openapi(
  createRoute({
    method: "post",
    path: "/portal/session/renew",
    operationId: "v1.portal.renew-session",
    summary: "A fresh session token; none outlives the link that opened the first",
    security,
    responses: { 201: jsonResponse(PortalSessionOut, "Session"), ...errorResponses },
  }),
  async (c) => {
    const token = c.req.header("authorization")!.replace(/^Bearer\s+/i, "");
    const db = c.var.db;
    return c.json(await openSession(db, await verifiedPortalClaims(db, token, "session")), 201);
  },
);
