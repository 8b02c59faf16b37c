/**
 * @module Svix applications onto Ferry's applications: `uid`, `metadata`, `rateLimit` map one to one; `PUT`
 * creates what it does not find (under the path's uid) and `?get_if_exists=true` answers an existing uid.
 */
import { Hono } from "hono";
import { z } from "@hono/zod-openapi";
import { createApplication, deleteApplication, findApplication, listApplications, updateApplication } from "../../db/applications";
import type { Application } from "../../db/schema";
import { enqueueJobStep } from "../../queue/delivery-queue";
import { applicationFields, isUniqueViolation } from "../routes/applications";
import type { AppEnv } from "../env";
import { conflict, invalid, notFound } from "./errors";
import { applicationOut } from "./models";
import { PageQuery, QueryFlag, listResponse, readBody, readQuery, type SvixContext } from "./wire";

/** `throttleRate` is accepted and ignored (Ferry has one rate limit: `rateLimit`). */
export const ApplicationIn = z.object({
  name: applicationFields.name,
  uid: applicationFields.uid.nullish(),
  metadata: applicationFields.metadata.optional(),
  rateLimit: applicationFields.rateLimitPerSecond.optional(),
});
const ApplicationPatch = ApplicationIn.partial();

type ApplicationInput = z.infer<typeof ApplicationIn>;

/** A uid already in use is Svix's 409. */
async function writing<T>(uid: string | null | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`An application with uid "${uid}" already exists`);
    throw error;
  }
}

function createSvixApplication(c: SvixContext, input: ApplicationInput): Promise<Application> {
  return writing(input.uid, () =>
    createApplication(c.var.db, c.var.projectId, { name: input.name, uid: input.uid ?? null, metadata: input.metadata ?? {}, rateLimitPerSecond: input.rateLimit ?? null }),
  );
}

/** The path names it by uid when it is not an application id; a path id that does not exist cannot be created. */
function uidFromPath(idOrUid: string, input: ApplicationInput): string {
  if (input.uid) return input.uid;
  if (idOrUid.startsWith("app_")) throw notFound("application");
  const parsed = applicationFields.uid.safeParse(idOrUid);
  if (!parsed.success || !parsed.data) throw invalid(["path", "app_id"], "not a valid uid");
  return parsed.data;
}

/** The application the path names, created from `input` (under the path's uid) when there is none. */
export async function applicationOrCreate(c: SvixContext, idOrUid: string, input: ApplicationInput | null | undefined): Promise<Application | undefined> {
  const found = await findApplication(c.var.db, c.var.projectId, idOrUid);
  if (found || !input) return found;
  return createSvixApplication(c, { ...input, uid: uidFromPath(idOrUid, input) });
}

export const svixApplications = new Hono<AppEnv>();

svixApplications.get("/app", async (c) => {
  const page = readQuery(c, PageQuery);
  const rows = await listApplications(c.var.db, c.var.projectId, { limit: page.limit, cursor: page.iterator });
  return c.json(listResponse(rows, page.limit, (row) => row.id, applicationOut));
});

svixApplications.post("/app", async (c) => {
  const { get_if_exists: getIfExists } = readQuery(c, z.object({ get_if_exists: QueryFlag(false) }));
  const input = await readBody(c, ApplicationIn);
  if (getIfExists && input.uid) {
    const existing = await findApplication(c.var.db, c.var.projectId, input.uid);
    if (existing) return c.json(applicationOut(existing), 200);
  }
  return c.json(applicationOut(await createSvixApplication(c, input)), 201);
});

svixApplications.get("/app/:app_id", async (c) => {
  const application = await findApplication(c.var.db, c.var.projectId, c.req.param("app_id"));
  if (!application) throw notFound("application");
  return c.json(applicationOut(application));
});

svixApplications.put("/app/:app_id", async (c) => {
  const input = await readBody(c, ApplicationIn);
  const idOrUid = c.req.param("app_id");
  const found = await findApplication(c.var.db, c.var.projectId, idOrUid);
  if (!found) return c.json(applicationOut(await createSvixApplication(c, { ...input, uid: uidFromPath(idOrUid, input) })), 201);
  // PUT replaces: what it leaves out goes back to its default.
  const changes = { name: input.name, uid: input.uid ?? found.uid, metadata: input.metadata ?? {}, rateLimitPerSecond: input.rateLimit ?? null };
  const updated = await writing(changes.uid, () => updateApplication(c.var.db, found.projectId, found.id, changes));
  if (!updated) throw notFound("application");
  return c.json(applicationOut(updated), 200);
});

svixApplications.patch("/app/:app_id", async (c) => {
  const input = await readBody(c, ApplicationPatch);
  const found = await findApplication(c.var.db, c.var.projectId, c.req.param("app_id"));
  if (!found) throw notFound("application");
  const changes: Partial<Application> = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.uid !== undefined ? { uid: input.uid } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    ...(input.rateLimit !== undefined ? { rateLimitPerSecond: input.rateLimit } : {}),
  };
  const updated = await writing(input.uid, () => updateApplication(c.var.db, found.projectId, found.id, changes));
  if (!updated) throw notFound("application");
  return c.json(applicationOut(updated), 200);
});

svixApplications.delete("/app/:app_id", async (c) => {
  const found = await findApplication(c.var.db, c.var.projectId, c.req.param("app_id"));
  // Svix answers 204; its endpoints and their pending deliveries go in the same job as Ferry's own delete.
  const job = found && (await deleteApplication(c.var.db, found.projectId, found.id));
  if (!job) throw notFound("application");
  await enqueueJobStep(c.env, job.id);
  return c.body(null, 204);
});
