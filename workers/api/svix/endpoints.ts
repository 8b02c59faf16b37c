/**
 * @module Svix endpoints onto Ferry's endpoints of one application: `filterTypes` → event types, `disabled` →
 * disable/enable (paused deliveries resume), `rateLimit`, `uid`, `metadata`, headers and secrets one to one;
 * `recover` is Ferry's bulk resend of the endpoint's failed deliveries; `stats` counts its deliveries.
 */
import { Hono } from "hono";
import { z } from "@hono/zod-openapi";
import { deliveryStatusCounts } from "../../db/deliveries";
import { createEndpoint, deleteEndpoint, listEndpoints, rotateEndpointSecret, updateEndpoint } from "../../db/endpoints";
import type { Application, Endpoint } from "../../db/schema";
import { SENSITIVE_HEADERS } from "../../outbound/post-webhook";
import { enqueueJobStep } from "../../queue/delivery-queue";
import { generateSecret, isValidSecret } from "../../signing/standard-webhooks";
import { isUniqueViolation } from "../routes/applications";
import { startBulkResend } from "../routes/deliveries";
import { disableByHand, enableByHand } from "../routes/endpoints/lifecycle";
import { checkedUrl, endpointFields } from "../routes/endpoints/schemas";
import type { AppEnv } from "../env";
import { conflict, fromZod } from "./errors";
import { endpointOut } from "./models";
import { requireApp, requireEndpointOf } from "./scope";
import { PageQuery, QueryTime, SvixName, listResponse, readBody, readQuery, type SvixContext } from "./wire";

/** Svix also takes a secret without its `whsec_` prefix. */
const Secret = z
  .string()
  .transform((value) => (value.startsWith("whsec_") ? value : `whsec_${value}`))
  .refine(isValidSecret, "must be whsec_ followed by base64 of 24–64 bytes");

/** Rotated secrets keep signing for a day, as in Svix. */
const ROTATION_GRACE_MS = 86_400_000;

/** `channels`, `version` and `throttleRate` are accepted and ignored. */
const endpointIn = {
  url: endpointFields.url,
  description: endpointFields.description.optional(),
  filterTypes: z.array(SvixName).max(200).nullish(),
  headers: endpointFields.headers.nullish(),
  rateLimit: endpointFields.rateLimitPerSecond.optional(),
  disabled: z.boolean().optional(),
  uid: SvixName.nullish(),
  metadata: z.record(z.string().max(256), z.string().max(1024)).optional(),
  secret: Secret.nullish(),
};
const EndpointIn = z.object(endpointIn);
const EndpointUpdate = z.object({ ...endpointIn, secret: z.undefined().optional() });
const EndpointPatch = EndpointIn.partial();

type EndpointInput = z.infer<typeof EndpointIn>;

async function writing<T>(uid: string | null | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`An endpoint with uid "${uid}" already exists in this application`);
    throw error;
  }
}

/** Disabling pauses its pending deliveries; enabling sends them (Ferry's own disable and enable). */
async function applyDisabled(env: Env, endpoint: Endpoint, disabled: boolean | undefined): Promise<Endpoint> {
  if (disabled === true && endpoint.status === "active") return (await disableByHand(env, endpoint, "disabled through the Svix API")).endpoint;
  if (disabled === false && endpoint.status === "disabled") return (await enableByHand(env, endpoint)).endpoint;
  return endpoint;
}

async function create(c: SvixContext, application: Application, input: EndpointInput): Promise<Endpoint> {
  const endpoint = await writing(input.uid, () =>
    createEndpoint(c.var.db, application.projectId, {
      applicationId: application.id,
      url: checkedUrl(c.env, input.url),
      uid: input.uid ?? null,
      metadata: input.metadata ?? {},
      description: input.description ?? "",
      eventTypes: input.filterTypes ?? [],
      headers: input.headers ?? {},
      rateLimitPerSecond: input.rateLimit === undefined ? application.rateLimitPerSecond : input.rateLimit,
      secret: input.secret ?? generateSecret(),
    }),
  );
  return applyDisabled(c.env, endpoint, input.disabled);
}

/** Field by field: `undefined` leaves a field as it is. */
function changesOf(c: SvixContext, input: Partial<EndpointInput>): Partial<Endpoint> {
  return {
    ...(input.url !== undefined ? { url: checkedUrl(c.env, input.url) } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.filterTypes !== undefined ? { eventTypes: input.filterTypes ?? [] } : {}),
    ...(input.headers !== undefined ? { headers: input.headers ?? {} } : {}),
    ...(input.rateLimit !== undefined ? { rateLimitPerSecond: input.rateLimit } : {}),
    ...(input.uid !== undefined ? { uid: input.uid } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
  };
}

async function update(c: SvixContext, endpoint: Endpoint, input: Partial<EndpointInput>): Promise<Endpoint> {
  const db = c.var.db;
  let updated = await writing(input.uid, () => updateEndpoint(db, endpoint.projectId, endpoint.id, changesOf(c, input)));
  if (input.secret) updated = await rotateEndpointSecret(db, updated ?? endpoint, input.secret, ROTATION_GRACE_MS);
  return applyDisabled(c.env, updated ?? endpoint, input.disabled);
}

export const svixEndpoints = new Hono<AppEnv>();

svixEndpoints.get("/app/:app_id/endpoint", async (c) => {
  const application = await requireApp(c);
  const page = readQuery(c, PageQuery);
  const rows = await listEndpoints(c.var.db, application.projectId, { limit: page.limit, cursor: page.iterator, applicationId: application.id });
  return c.json(listResponse(rows, page.limit, (row) => row.id, endpointOut));
});

svixEndpoints.post("/app/:app_id/endpoint", async (c) => {
  const application = await requireApp(c);
  return c.json(endpointOut(await create(c, application, await readBody(c, EndpointIn))), 201);
});

svixEndpoints.get("/app/:app_id/endpoint/:endpoint_id", async (c) => c.json(endpointOut(await requireEndpointOf(c, await requireApp(c)))));

svixEndpoints.put("/app/:app_id/endpoint/:endpoint_id", async (c) => {
  const application = await requireApp(c);
  const input = await readBody(c, EndpointUpdate);
  const idOrUid = c.req.param("endpoint_id");
  const endpoint = await requireEndpointOf(c, application).catch((error) => {
    // A uid that names no endpoint yet is created, as in Svix; an unknown id is a 404.
    if (idOrUid.startsWith("ep_") || !SvixName.safeParse(idOrUid).success) throw error;
    return undefined;
  });
  if (!endpoint) return c.json(endpointOut(await create(c, application, { ...input, uid: input.uid ?? idOrUid })), 201);
  // PUT replaces: what it leaves out goes back to its default.
  const replaced = { description: "", filterTypes: null, headers: endpoint.headers, rateLimit: null, metadata: {}, uid: endpoint.uid, ...input };
  return c.json(endpointOut(await update(c, endpoint, replaced)), 200);
});

svixEndpoints.patch("/app/:app_id/endpoint/:endpoint_id", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  return c.json(endpointOut(await update(c, endpoint, await readBody(c, EndpointPatch))), 200);
});

svixEndpoints.delete("/app/:app_id/endpoint/:endpoint_id", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  // Svix answers 204; the pending deliveries are failed by the same job as Ferry's own delete.
  const job = await deleteEndpoint(c.var.db, endpoint.projectId, endpoint.id);
  if (job) await enqueueJobStep(c.env, job.id);
  return c.body(null, 204);
});

svixEndpoints.get("/app/:app_id/endpoint/:endpoint_id/secret", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  return c.json({ key: endpoint.secrets[0].value });
});

svixEndpoints.post("/app/:app_id/endpoint/:endpoint_id/secret/rotate", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  const { key } = await readBody(c, z.object({ key: Secret.nullish() }));
  await rotateEndpointSecret(c.var.db, endpoint, key ?? generateSecret(), ROTATION_GRACE_MS);
  return c.body(null, 204);
});

/** Authenticating header values are not shown; their names are listed as `sensitive`. */
svixEndpoints.get("/app/:app_id/endpoint/:endpoint_id/headers", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  const entries = Object.entries(endpoint.headers);
  return c.json({
    headers: Object.fromEntries(entries.filter(([name]) => !SENSITIVE_HEADERS.test(name))),
    sensitive: entries.filter(([name]) => SENSITIVE_HEADERS.test(name)).map(([name]) => name),
  });
});

svixEndpoints.put("/app/:app_id/endpoint/:endpoint_id/headers", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  const { headers } = await readBody(c, z.object({ headers: endpointFields.headers }));
  await updateEndpoint(c.var.db, endpoint.projectId, endpoint.id, { headers });
  return c.body(null, 204);
});

svixEndpoints.patch("/app/:app_id/endpoint/:endpoint_id/headers", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  const input = await readBody(c, z.object({ headers: z.record(z.string(), z.string()), deleteHeaders: z.array(z.string()).max(100).optional() }));
  const deleted = new Set((input.deleteHeaders ?? []).map((name) => name.toLowerCase()));
  const merged = Object.fromEntries(Object.entries({ ...endpoint.headers, ...input.headers }).filter(([name]) => !deleted.has(name.toLowerCase())));
  // The merged set is checked by the same rules as a full replacement.
  const checked = z.object({ headers: endpointFields.headers }).safeParse({ headers: merged });
  if (!checked.success) throw fromZod(checked.error, "body");
  await updateEndpoint(c.var.db, endpoint.projectId, endpoint.id, { headers: checked.data.headers });
  return c.body(null, 204);
});

const TimeRange = z.object({ since: QueryTime, until: QueryTime });

svixEndpoints.get("/app/:app_id/endpoint/:endpoint_id/stats", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  const range = readQuery(c, TimeRange);
  const counts = await deliveryStatusCounts(c.var.db, endpoint.projectId, { endpointId: endpoint.id, ...range });
  return c.json({
    success: counts.succeeded ?? 0,
    pending: (counts.queued ?? 0) + (counts.retrying ?? 0) + (counts.paused ?? 0),
    sending: counts.sending ?? 0,
    fail: counts.failed ?? 0,
    canceled: 0,
  });
});

/** Resends every failed delivery to the endpoint in the range: Ferry's bulk resend job is the background task. */
svixEndpoints.post("/app/:app_id/endpoint/:endpoint_id/recover", async (c) => {
  const endpoint = await requireEndpointOf(c, await requireApp(c));
  const input = await readBody(c, z.object({ since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }).nullish() }));
  const job = await startBulkResend(c.env, endpoint.projectId, {
    endpointId: endpoint.id,
    status: "failed",
    since: new Date(input.since),
    until: input.until ? new Date(input.until) : undefined,
  });
  return c.json({ id: job.id, status: "running", task: "endpoint.recover", updatedAt: job.updatedAt.toISOString() }, 202);
});
