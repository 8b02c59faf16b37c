import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startBulkResend } from "../../../workers/api/routes/deliveries";
import { database } from "../../../workers/db/client";
import { deleteApplication, createApplication } from "../../../workers/db/applications";
import { CHUNK_ROWS, deleteEndpoint, disableEndpoint, enableEndpoint } from "../../../workers/db/endpoints";
import { RESEND_WINDOW_ROWS } from "../../../workers/db/deliveries";
import { deliveries, endpoints, jobs, type DeliveryStatus, type Job } from "../../../workers/db/schema";
import { STALLED_AFTER_MS, runJobStep } from "../../../workers/jobs/runner";
import { deliveryIdsOf } from "../../../workers/queue/delivery-queue";
import { sweepDueDeliveries } from "../../../workers/delivery/sweeper";
import worker from "../../../workers/index";
import { recordingEnv } from "./recording-env";
import { client, createEndpoint, createProject, env, eventually, fakeReceivers, seedDelivery, sendEvent } from "../helpers";

/** Adds `count` deliveries of the seeded event to the endpoint, straight into D1, ids in insertion order. */
async function addDeliveries(seed: Awaited<ReturnType<typeof seedDelivery>>, count: number, status: DeliveryStatus, tag: string = status) {
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
     insert into deliveries (id, project_id, event_id, endpoint_id, event_type, application_id, status, attempt_count, schedule_step, next_trigger, next_attempt_at, created_at, updated_at)
     select printf('dlv_%s_%s_%06d', ?, ?, i), ?, ?, ?, 'seed.created', ?, ?, 0, 0, 'scheduled', ?, ?, ? from n`,
  )
    .bind(count, seed.endpoint.id, tag, seed.project.id, seed.event.id, seed.endpoint.id, seed.endpoint.applicationId ?? null, status, Date.now(), Date.now() - 60_000, Date.now() - 60_000)
    .run();
}

async function statusCounts(endpointId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
  const rows = await database(env).select({ status: deliveries.status, n: sql<number>`count(*)` }).from(deliveries).where(eq(deliveries.endpointId, endpointId)).groupBy(deliveries.status).all();
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

const jobRow = async (id: string) => (await database(env).select().from(jobs).where(eq(jobs.id, id)).get())!;

/** Works the job message by message, as the consumer would; returns the statements each step ran. */
async function workJob(recording: ReturnType<typeof recordingEnv>, job: Pick<Job, "id">) {
  const perStep: string[][] = [];
  recording.sent.push({ jobId: job.id });
  for (;;) {
    const index = recording.sent.findIndex((body) => (body as { jobId?: string }).jobId === job.id);
    if (index < 0) break;
    recording.sent.splice(index, 1);
    recording.statements.length = 0;
    await runJobStep(recording.env, job.id);
    perStep.push([...recording.statements]);
  }
  return perStep;
}

const deliveryIdsSent = (sent: unknown[]) => sent.flatMap(deliveryIdsOf);

/** No step may grow with the rows: a few statements, and every one that changes deliveries is limited. */
function expectBounded(perStep: string[][]) {
  for (const statements of perStep) {
    expect(statements.length).toBeLessThanOrEqual(6);
    for (const statement of statements.filter((s) => /^update "deliveries"/.test(s))) expect(statement).toMatch(/limit \?|json_each/);
  }
}

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
});
afterEach(() => receivers.restore());

describe("bulk jobs", { timeout: 30_000 }, () => {
  it("enabling re-queues more paused deliveries than one chunk, through several bounded steps", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/enable", endpoint: { status: "disabled", disabledAt: new Date() }, delivery: { status: "paused" } });
    await addDeliveries(seed, 2 * CHUNK_ROWS + 499, "paused");
    const recording = recordingEnv();
    const started = await enableEndpoint(database(env), seed.endpoint);
    const perStep = await workJob(recording, started!.requeueJob);

    expect(perStep).toHaveLength(3);
    expectBounded(perStep);
    expect(await jobRow(started!.requeueJob.id)).toMatchObject({ status: "succeeded", processed: 2 * CHUNK_ROWS + 500, steps: 3, leaseUntil: null });
    expect(await statusCounts(seed.endpoint.id)).toEqual({ queued: 2 * CHUNK_ROWS + 500 });
    expect(new Set(deliveryIdsSent(recording.sent)).size).toBe(2 * CHUNK_ROWS + 500);
  });

  it("a step lost with its message is restarted by the cron, and the job then finishes through the queue", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/lost", endpoint: { status: "disabled", disabledAt: new Date() }, delivery: { status: "paused" } });
    await addDeliveries(seed, 4, "paused");
    // Paused just now: the sweeper's own revival (same cron) leaves them to the job.
    await database(env).update(deliveries).set({ updatedAt: new Date() }).where(eq(deliveries.endpointId, seed.endpoint.id));
    // Recorded long enough ago, and its message never sent: as if it had been lost.
    const started = await enableEndpoint(database(env), seed.endpoint, new Date(Date.now() - STALLED_AFTER_MS - 1000));
    await waitOnExecutionContext(Object.assign(createExecutionContext(), { waitUntil: () => {} }));

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    await eventually(async () => (await jobRow(started!.requeueJob.id)).status === "succeeded", 15_000);
    expect((await jobRow(started!.requeueJob.id)).processed).toBe(5);
    await eventually(async () => (await statusCounts(seed.endpoint.id)).succeeded === 5, 15_000);
  });

  it("a duplicate message claims nothing while a step holds the job", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/dup", endpoint: { status: "disabled", disabledAt: new Date() }, delivery: { status: "paused" } });
    const started = await enableEndpoint(database(env), seed.endpoint);
    const now = Date.now();
    await database(env).update(jobs).set({ leaseUntil: new Date(now + 30_000) }).where(eq(jobs.id, started!.requeueJob.id));
    expect(await runJobStep(recordingEnv().env, started!.requeueJob.id, now)).toBeUndefined();
    expect((await jobRow(started!.requeueJob.id)).steps).toBe(0);
  });

  it("a bulk resend walks the filter's index in windows and resends only what matches", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/resend", delivery: { status: "succeeded" } });
    await addDeliveries(seed, RESEND_WINDOW_ROWS + 300, "failed");
    await addDeliveries(seed, 200, "succeeded", "ok");
    const recording = recordingEnv();
    const job = await startBulkResend(recording.env, seed.project.id, { endpointId: seed.endpoint.id, status: "failed" });
    recording.sent.length = 0;
    const perStep = await workJob(recording, job);

    expect(perStep).toHaveLength(2);
    expectBounded(perStep);
    expect(await jobRow(job.id)).toMatchObject({ status: "succeeded", processed: RESEND_WINDOW_ROWS + 300 });
    expect(await statusCounts(seed.endpoint.id)).toEqual({ queued: RESEND_WINDOW_ROWS + 300, succeeded: 201 });
    const resent = await database(env).select().from(deliveries).where(eq(deliveries.id, `dlv_${seed.endpoint.id}_failed_000001`)).get();
    expect(resent).toMatchObject({ nextTrigger: "manual", scheduleStep: 0 });
  });

  it("disabling pauses the first chunk with the flip, and the job pauses the rest", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/disable", delivery: { status: "queued" } });
    await addDeliveries(seed, CHUNK_ROWS + 199, "retrying");
    const disabled = await disableEndpoint(database(env), seed.endpoint.id, "by a test");
    expect(await statusCounts(seed.endpoint.id)).toEqual({ paused: CHUNK_ROWS, retrying: 200 });

    const perStep = await workJob(recordingEnv(), disabled!.pauseJob);
    expectBounded(perStep);
    expect(await statusCounts(seed.endpoint.id)).toEqual({ paused: CHUNK_ROWS + 200 });
    expect(await jobRow(disabled!.pauseJob.id)).toMatchObject({ status: "succeeded", processed: 200 });
    // A retried disable changes nothing and starts no job.
    expect(await disableEndpoint(database(env), seed.endpoint.id, "again")).toBeUndefined();
    expect(await database(env).select().from(jobs).where(eq(jobs.projectId, seed.project.id)).all()).toHaveLength(1);
  });

  it("an enable that finds its endpoint disabled again stops as cancelled", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/cancel", endpoint: { status: "disabled", disabledAt: new Date() }, delivery: { status: "paused" } });
    const started = await enableEndpoint(database(env), seed.endpoint);
    await disableEndpoint(database(env), seed.endpoint.id, "again");
    await workJob(recordingEnv(), started!.requeueJob);
    expect(await jobRow(started!.requeueJob.id)).toMatchObject({ status: "cancelled", processed: 0 });
    expect(await statusCounts(seed.endpoint.id)).toEqual({ paused: 1 });
  });

  it("deleting an endpoint fails its pending deliveries in chunks and leaves finished ones alone", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/delete", delivery: { status: "succeeded" } });
    await addDeliveries(seed, 600, "paused");
    await addDeliveries(seed, 600, "queued");
    await addDeliveries(seed, 10, "sending");
    const job = await deleteEndpoint(database(env), seed.project.id, seed.endpoint.id);
    expect(await deleteEndpoint(database(env), seed.project.id, seed.endpoint.id)).toBeUndefined();
    const perStep = await workJob(recordingEnv(), job!);

    expect(perStep).toHaveLength(2);
    expectBounded(perStep);
    expect(await statusCounts(seed.endpoint.id)).toEqual({ failed: 1200, succeeded: 1, sending: 10 });
    expect(await jobRow(job!.id)).toMatchObject({ status: "succeeded", processed: 1200 });
  });

  it("deleting an application deletes its endpoints and fails their pending deliveries in chunks", async () => {
    const db = database(env);
    const seed = await seedDelivery({ url: "https://jobs.example.com/app", delivery: { status: "paused" } });
    const application = await createApplication(db, seed.project.id, { name: "leaving", uid: null, metadata: {}, rateLimitPerSecond: null });
    await db.update(endpoints).set({ applicationId: application.id }).where(eq(endpoints.id, seed.endpoint.id));
    await addDeliveries(seed, CHUNK_ROWS + 50, "retrying");
    const job = await deleteApplication(db, seed.project.id, application.id);
    const perStep = await workJob(recordingEnv(), job!);

    expectBounded(perStep);
    expect(await statusCounts(seed.endpoint.id)).toEqual({ failed: CHUNK_ROWS + 51 });
    expect((await db.select().from(endpoints).where(eq(endpoints.id, seed.endpoint.id)).get())!.deletedAt).not.toBeNull();
    expect(await jobRow(job!.id)).toMatchObject({ status: "succeeded", processed: CHUNK_ROWS + 51 });
  });

  it("the sweeper's paused revival is bounded per sweep", async () => {
    const seed = await seedDelivery({ url: "https://jobs.example.com/revive", delivery: { status: "paused", updatedAt: new Date(Date.now() - 60_000) } });
    await addDeliveries(seed, 5_200, "paused");
    const { requeued } = await sweepDueDeliveries(recordingEnv().env);
    expect(requeued).toBe(5_000);
    expect(await statusCounts(seed.endpoint.id)).toEqual({ queued: 5_000, paused: 201 });
  });
});

describe("the API's bulk operations", { timeout: 30_000 }, () => {
  it("enable answers with a job that re-queues and delivers every paused delivery; GET /jobs/:id shows it and is project-scoped", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const endpoint = await createEndpoint(project.apiKey, { url: "https://jobs-api.example.com/hook" });
    const disabled = await call("POST", `/endpoints/${endpoint.id}/disable`);
    expect(disabled).toMatchObject({ status: 200, body: { status: "disabled", jobId: expect.stringMatching(/^job_/) } });
    for (let i = 0; i < 3; i++) await sendEvent(project.apiKey, { eventType: "a.b", payload: { i } });

    const enabled = await call("POST", `/endpoints/${endpoint.id}/enable`);
    expect(enabled).toMatchObject({ status: 200, body: { id: endpoint.id, status: "active", jobId: expect.stringMatching(/^job_/) } });
    const done = await eventually(async () => {
      const job = await call("GET", `/jobs/${enabled.body.jobId}`);
      return job.body.status === "succeeded" && job;
    });
    expect(done.body).toMatchObject({ id: enabled.body.jobId, kind: "endpoint.enable", processed: 3, finishedAt: expect.any(String) });
    await eventually(async () => receivers.requests("https://jobs-api.example.com/").length === 3);

    const other = await createProject("other");
    expect((await client(other.apiKey)("GET", `/jobs/${enabled.body.jobId}`)).status).toBe(404);
  });
});
