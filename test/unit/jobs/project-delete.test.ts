/**
 * Deleting a project: the request marks it deleted and records a `project.delete` job, whose bounded steps
 * then delete every row of it (and its R2 objects) while another project's stay exactly as they were.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { eventBodyObject, responseBodyKey } from "../../../workers/db/bodies";
import { PROJECT_DELETE_ROWS, PROJECT_TABLES, deleteProject } from "../../../workers/db/projects";
import { jobs } from "../../../workers/db/schema";
import { STALLED_AFTER_MS, runJobStep } from "../../../workers/jobs/runner";
import worker from "../../../workers/index";
import { recordingEnv } from "./recording-env";
import { ADMIN_TOKEN, api, client, createEndpoint, createProject, deliveryRow, env, eventually, fakeReceivers, runConsumer, seedDelivery, sendEvent } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
});
afterEach(() => receivers.restore());

/** Works the job message by message, as the consumer would; returns the statements each step ran. */
async function workJob(recording: ReturnType<typeof recordingEnv>, jobId: string) {
  const perStep: string[][] = [];
  recording.sent.push({ jobId });
  for (;;) {
    const index = recording.sent.findIndex((body) => (body as { jobId?: string }).jobId === jobId);
    if (index < 0) break;
    recording.sent.splice(index, 1);
    recording.statements.length = 0;
    await runJobStep(recording.env, jobId);
    perStep.push([...recording.statements]);
  }
  return perStep;
}

const TABLES = ["projects", ...PROJECT_TABLES] as const;

/** Rows of the project in every table it has rows in. */
async function rowsOf(projectId: string): Promise<Record<string, number>> {
  const results = await env.DB.batch(TABLES.map((table) => env.DB.prepare(`select count(*) as n from ${table} where ${table === "projects" ? "id" : "project_id"} = ?`).bind(projectId)));
  return Object.fromEntries(TABLES.map((table, i) => [table, (results[i].results[0] as { n: number }).n]));
}

/** The R2 objects the project's rows point at: packed event bodies and whole response bodies. */
async function objectsOf(projectId: string): Promise<string[]> {
  const bodies = await env.DB.prepare("select body from events where project_id = ?").bind(projectId).all<{ body: string }>();
  const attempts = await env.DB.prepare("select id from attempts where project_id = ? and response ->> 'bodyBytes' > length(response ->> 'excerpt')").bind(projectId).all<{ id: string }>();
  return [...new Set([...bodies.results.flatMap((row) => eventBodyObject(row.body)?.key ?? []), ...attempts.results.map((row) => responseBodyKey(row.id))])];
}

const present = async (keys: string[]) => (await Promise.all(keys.map((key) => env.BODIES.head(key)))).filter(Boolean).length;

/**
 * A project with rows in every table, more than one chunk of attempts, deliveries and events, an event body
 * packed in R2 and a response body in R2; its first delivery is sent through the real queue.
 */
async function seedProject(name: string) {
  const project = await createProject(name);
  const call = client(project.apiKey);
  const endpoint = await createEndpoint(project.apiKey, { url: `https://${name}.example.com/hook` });
  const event = await sendEvent(project.apiKey, { eventType: "order.created", payload: { big: "x".repeat(4000) } });
  await eventually(async () => (await deliveryRow(event.deliveries[0].id)).status === "succeeded");
  expect((await call("POST", "/applications", { name: "customer" })).status).toBe(201);
  expect((await call("POST", "/api-keys", { name: "second" })).status).toBe(201);
  const p = project.id;
  const now = Date.now();
  const deliveryId = event.deliveries[0].id;
  await env.DB.batch([
    env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
       insert into events (id, project_id, event_type, application_id, body, body_format, idempotency_key, created_at)
       select printf('evt_%s_%06d', ?2, i), ?2, 'bulk.created', null, '{}', 'envelope', null, ?3 from n`,
    ).bind(PROJECT_DELETE_ROWS + 200, p, now),
    env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
       insert into deliveries (id, project_id, event_id, endpoint_id, event_type, application_id, status, attempt_count, schedule_step, next_trigger, next_attempt_at, created_at, updated_at)
       select printf('dlv_%s_%06d', ?2, i), ?2, ?3, ?4, 'bulk.created', null, 'succeeded', 1, 1, 'scheduled', null, ?5, ?5 from n`,
    ).bind(2 * PROJECT_DELETE_ROWS + 300, p, event.id, endpoint.id, now),
    env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
       insert into attempts (id, project_id, delivery_id, attempt, trigger, started_at, duration_ms, request, response, error)
       select printf('att_%s_%06d', ?2, i), ?2, ?3, 100 + i, 'manual', ?4, 5, '{"url":"https://x"}', null, null from n`,
    ).bind(PROJECT_DELETE_ROWS + 100, p, deliveryId, now),
    env.DB.prepare(
      `insert into attempts (id, project_id, delivery_id, attempt, trigger, started_at, duration_ms, request, response, error)
       values (?1, ?2, ?3, 99, 'manual', ?4, 5, '{"url":"https://x"}', '{"status":200,"headers":{},"excerpt":"a","bodyBytes":5000,"bodyTruncated":false}', null)`,
    ).bind(`att_${p}_r2`, p, deliveryId, now),
    env.DB.prepare(
      `insert into alerts (id, project_id, endpoint_id, kind, dedupe_key, recipients, subject, text, html, status, attempts, created_at)
       values (?1, ?2, ?3, 'endpoint.disabled', ?1, '[]', 's', 't', 'h', 'sent', 1, ?4)`,
    ).bind(`alr_${p}`, p, endpoint.id, now),
    env.DB.prepare("insert into event_types (project_id, name, description, archived, deprecated, created_at, updated_at) values (?, 'order.created', '', 0, 0, ?, ?)").bind(p, now, now),
    env.DB.prepare("insert into jobs (id, project_id, kind, params, status, processed, steps, finished_at, created_at, updated_at) values (?, ?, 'endpoint.enable', '{}', 'succeeded', 0, 1, ?, ?, ?)").bind(`job_${p}`, p, now, now, now),
    env.DB.prepare("insert into idempotent_responses (project_id, key, request, response, created_at) values (?, 'k1', 'POST /x', null, ?)").bind(p, now),
  ]);
  await env.BODIES.put(responseBodyKey(`att_${p}_r2`), "r".repeat(5000));
  return project;
}

describe("deleting a project", { timeout: 60_000 }, () => {
  it("deletes more rows than one chunk through several bounded steps: no row or R2 object of it is left, another project's are untouched", async () => {
    const doomed = await seedProject("doomed");
    const kept = await seedProject("kept");
    const keptRows = await rowsOf(kept.id);
    const [doomedObjects, keptObjects] = [await objectsOf(doomed.id), await objectsOf(kept.id)];
    expect(doomedObjects).toHaveLength(2);
    expect(await present(doomedObjects)).toBe(2);
    for (const table of TABLES) expect(keptRows[table], table).toBeGreaterThan(0);

    const job = await deleteProject(database(env), doomed.id);
    const perStep = await workJob(recordingEnv(), job!.id);

    expect(perStep.length).toBeGreaterThan(3);
    for (const statements of perStep) {
      // A claim, a save, and at most four chunks (an events chunk also asks which R2 objects are unreferenced).
      expect(statements.length).toBeLessThanOrEqual(10);
      for (const statement of statements.filter((s) => /^delete from/.test(s) && !/^delete from "projects"/.test(s))) expect(statement).toMatch(/limit \?/);
    }
    // Every chunk finds its rows on an index: SQLite plans the same on this small database as at 1 M rows.
    const deletes = new Set(perStep.flat().filter((s) => /^delete from/.test(s)));
    expect(deletes.size).toBeGreaterThanOrEqual(PROJECT_TABLES.length);
    for (const statement of deletes) {
      const plan = await env.DB.prepare(`explain query plan ${statement}`)
        .bind(...Array.from(statement.matchAll(/\?/g), () => "x"))
        .all<{ detail: string }>();
      expect(plan.results.filter((row) => /^SCAN \w+$/.test(row.detail)), `${statement}\n${plan.results.map((row) => row.detail).join("\n")}`).toEqual([]);
    }
    expect(Object.values(await rowsOf(doomed.id)).every((n) => n === 0), JSON.stringify(await rowsOf(doomed.id))).toBe(true);
    expect(await present(doomedObjects)).toBe(0);
    expect(await rowsOf(kept.id)).toEqual(keptRows);
    expect(await present(keptObjects)).toBe(2);
  });

  it("its key and portal sessions stop working at once, it is gone from the admin's list, and only the admin follows the job", async () => {
    const project = await createProject("gone");
    const other = await createProject("still-here");
    const call = client(project.apiKey);
    const application = (await call("POST", "/applications", { name: "customer" })).body;
    const link = await call("POST", `/applications/${application.id}/portal-links`, {});
    const session = (await api("POST", "/api/v1/portal/sessions", { body: { link: new URL(link.body.url).hash.slice(1) } })).body;
    expect((await client(session.token)("GET", "/endpoints")).status).toBe(200);

    expect((await call("DELETE", "/project", { confirm: other.id })).status).toBe(422);
    expect((await call("DELETE", "/project")).status).toBe(422);
    expect((await call("GET", "/project")).status).toBe(200);

    expect((await call("DELETE", "/project", { confirm: project.id })).status).toBe(202);
    expect((await call("GET", "/project")).status).toBe(401);
    expect((await call("GET", "/endpoints")).status).toBe(401);
    expect((await client(session.token)("GET", "/endpoints")).status).toBe(401);
    expect((await client(ADMIN_TOKEN, { "ferry-project": project.id })("GET", "/endpoints")).status).toBe(404);
    expect((await call("DELETE", "/project", { confirm: project.id })).status).toBe(401);

    // Recorded without its first message, so its job is still there to be read.
    const unsent = await createProject("unsent");
    const job = await deleteProject(database(env), unsent.id);
    const asAdmin = client(ADMIN_TOKEN, { "ferry-project": unsent.id });
    expect((await asAdmin("GET", "/project")).status).toBe(404);
    expect((await asAdmin("GET", `/jobs/${job!.id}`)).body).toMatchObject({ id: job!.id, kind: "project.delete", status: "running" });
    const listed = await api("GET", "/api/v1/projects", { token: ADMIN_TOKEN });
    expect(listed.body.data.map((p: { id: string }) => p.id)).not.toContain(unsent.id);
    expect(listed.body.data.map((p: { id: string }) => p.id)).toContain(other.id);
    expect((await api("DELETE", `/api/v1/projects/${unsent.id}`, { token: ADMIN_TOKEN, body: { confirm: unsent.id } })).status).toBe(404);
    expect((await client(other.apiKey)("GET", "/project")).status).toBe(200);
  });

  it("through the API: 202 with the job, which the queue then finishes, taking the project row and itself", async () => {
    const own = await createProject("own-delete");
    const response = await client(own.apiKey)("DELETE", "/project", { confirm: own.id });
    expect(response).toMatchObject({ status: 202, body: { jobId: expect.stringMatching(/^job_/) } });
    await eventually(async () => (await rowsOf(own.id)).projects === 0, 15_000);
    expect(Object.values(await rowsOf(own.id)).every((n) => n === 0)).toBe(true);

    const byAdmin = await createProject("admin-delete");
    const deleted = await api("DELETE", `/api/v1/projects/${byAdmin.id}`, { token: ADMIN_TOKEN, body: { confirm: byAdmin.id } });
    expect(deleted).toMatchObject({ status: 202, body: { jobId: expect.stringMatching(/^job_/) } });
    expect((await client(byAdmin.apiKey)("GET", "/project")).status).toBe(401);
    await eventually(async () => (await rowsOf(byAdmin.id)).projects === 0, 15_000);
  });

  it("a job whose message was lost is restarted by the cron and finishes", async () => {
    const project = await createProject("lost-message");
    await createEndpoint(project.apiKey, { url: "https://lost.example.com/hook" });
    const job = await deleteProject(database(env), project.id, new Date(Date.now() - STALLED_AFTER_MS - 1000));
    expect(await database(env).select({ status: jobs.status }).from(jobs).where(eq(jobs.id, job!.id)).get()).toEqual({ status: "running" });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    await eventually(async () => (await rowsOf(project.id)).projects === 0, 15_000);
    expect(Object.values(await rowsOf(project.id)).every((n) => n === 0)).toBe(true);
  });

  it("waits for a send claimed before the delete to end, so its attempt and R2 body cannot appear after the attempts are gone", async () => {
    let answer!: (response: Response) => void;
    receivers.on("https://in-flight.example.com/", () => new Promise<Response>((resolve) => (answer = resolve)));
    const seed = await seedDelivery({ url: "https://in-flight.example.com/hook" });
    const sending = runConsumer([seed.delivery.id]);
    await eventually(async () => receivers.requests("https://in-flight.example.com/").length === 1);
    const job = (await deleteProject(database(env), seed.project.id))!;
    const recording = recordingEnv();

    await runJobStep(recording.env, job.id);
    const lease = (await deliveryRow(seed.delivery.id)).leaseUntil!.getTime();
    expect(await database(env).select({ cursor: jobs.cursor }).from(jobs).where(eq(jobs.id, job.id)).get()).toEqual({ cursor: "attempts" });
    expect(recording.delays).toHaveLength(1);
    expect(recording.delays[0]).toBeGreaterThanOrEqual(Math.floor((lease - Date.now()) / 1000));

    // The send ends and records its attempt, with its whole body in R2; the next step deletes both.
    answer(new Response("x".repeat(1_000)));
    await sending;
    const kept = await objectsOf(seed.project.id);
    expect(kept).toHaveLength(1);
    await workJob(recording, job.id);
    expect(Object.values(await rowsOf(seed.project.id)).every((n) => n === 0)).toBe(true);
    expect(await present(kept)).toBe(0);
  });

  it("nothing is sent to its endpoints once the delete has answered: a queued delivery fails unsent", async () => {
    const seed = await seedDelivery({ url: "https://after-delete.example.com/hook" });
    await deleteProject(database(env), seed.project.id);
    await runConsumer([seed.delivery.id]);
    expect(receivers.requests("https://after-delete.example.com/")).toHaveLength(0);
    expect(await deliveryRow(seed.delivery.id)).toMatchObject({ status: "failed", lastError: "project deleted", attemptCount: 0 });
  });
});
