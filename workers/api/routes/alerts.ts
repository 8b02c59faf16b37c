/**
 * @module Alerts: the endpoint-health emails Ferry wrote, whether they were sent, and why not.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { alertListQuery } from "../../db/alerts";
import { ALERT_KINDS, ALERT_STATUSES } from "../../db/schema";
import type { AppEnv } from "../env";
import { ListQuery, errorResponses, iso, jsonResponse, listOf, pageOf, security } from "../openapi";

const AlertOut = z
  .object({
    id: z.string(),
    kind: z.enum(ALERT_KINDS),
    endpointId: z.string(),
    status: z.enum(ALERT_STATUSES),
    recipients: z.array(z.string()),
    subject: z.string(),
    text: z.string(),
    attempts: z.number().int(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    lastError: z.string().nullable(),
  })
  .openapi("Alert");

export const alertRoutes = new OpenAPIHono<AppEnv>();

alertRoutes.openapi(
  createRoute({
    method: "get",
    path: "/alerts",
    operationId: "v1.alert.list",
    summary: "Alert emails (endpoint disabled, endpoint failing), newest first",
    security,
    request: { query: ListQuery.extend({ endpointId: z.string().max(64).optional() }) },
    responses: { 200: jsonResponse(listOf(AlertOut), "Alerts"), ...errorResponses },
  }),
  async (c) => {
    const { limit, cursor, endpointId } = c.req.valid("query");
    const rows = await alertListQuery(c.var.db, c.var.projectId, { limit, cursor, endpointId }).all();
    const { items, nextCursor } = pageOf(rows, limit, (row) => row.id);
    return c.json(
      {
        data: items.map((a) => ({
          id: a.id,
          kind: a.kind,
          endpointId: a.endpointId,
          status: a.status,
          recipients: a.recipients,
          subject: a.subject,
          text: a.text,
          attempts: a.attempts,
          createdAt: a.createdAt.toISOString(),
          sentAt: iso(a.sentAt),
          lastError: a.lastError,
        })),
        nextCursor,
      },
      200,
    );
  },
);
