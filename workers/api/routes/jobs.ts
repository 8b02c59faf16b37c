/**
 * @module Bulk jobs: the progress of work a request started and left running in bounded steps (enabling,
 * disabling or deleting an endpoint, deleting an application or a project, a bulk resend). Project-scoped:
 * another project's job id answers 404. A project delete's job is readable by the admin while it runs and
 * goes with the project's last row.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { database } from "../../db/client";
import { findJob } from "../../db/jobs";
import { JOB_KINDS, JOB_STATUSES, type Job } from "../../db/schema";
import { projectIdOf } from "../auth";
import type { AppEnv } from "../env";
import { IdParam, errorResponses, iso, jsonResponse, security } from "../openapi";
import { notFound } from "../problem";

/** The field every response that started a job carries. */
export const jobIdField = z.string().openapi({ description: "The job that finishes this in bounded steps; follow it at GET /jobs/{id}" });

const JobOut = z
  .object({
    id: z.string(),
    kind: z.enum(JOB_KINDS),
    status: z.enum(JOB_STATUSES).openapi({ description: "`cancelled`: a later change to the same endpoint took over (e.g. disabled again while enabling)" }),
    processed: z.number().int().openapi({ description: "Deliveries changed so far (re-queued, paused, failed or resent); for `project.delete`, rows deleted" }),
    steps: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Job");

const jobOut = (job: Job): z.infer<typeof JobOut> => ({
  id: job.id,
  kind: job.kind,
  status: job.status,
  processed: job.processed,
  steps: job.steps,
  createdAt: job.createdAt.toISOString(),
  updatedAt: job.updatedAt.toISOString(),
  finishedAt: iso(job.finishedAt),
});

export const jobRoutes = new OpenAPIHono<AppEnv>();

jobRoutes.openapi(
  createRoute({
    method: "get",
    path: "/jobs/{id}",
    operationId: "v1.job.get",
    summary: "A bulk job's progress",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(JobOut, "Job"), ...errorResponses },
  }),
  async (c) => {
    const job = await findJob(database(c.env), projectIdOf(c.get("principal")), c.req.valid("param").id);
    if (!job) throw notFound("job");
    return c.json(jobOut(job), 200);
  },
);
