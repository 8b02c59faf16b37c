import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { retentionMs } from "../../../workers/config";
import { storedAttempt } from "../../../workers/db/attempts";
import { responseBodyKey, storeEventBodies } from "../../../workers/db/bodies";
import { database } from "../../../workers/db/client";
import { newId } from "../../../workers/db/ids";
import { alerts, attempts, deliveries, events, projects, statsRollups, type DeliveryStatus } from "../../../workers/db/schema";
import { applyRetention } from "../../../workers/retention/retention";
import { client, createEndpoint, createProject, env, expectProblem } from "../helpers";

const DAY = 86_400_000;
const db = database(env);

/**
 * Writes one ingest call's events at `at` (their large bodies packed into one R2 object, as ingest does), each
 * with one delivery in `status` and one attempt whose 2 KB response body is in R2.
 */
async function seedEvents(projectId: string, endpointId: string, at: number, statuses: DeliveryStatus[], payloadBytes = 2000) {
  const rows = statuses.map((status, i) => ({
    id: newId("event", at),
    status,
    body: JSON.stringify({ type: "t.old", timestamp: new Date(at).toISOString(), data: { i, pad: "p".repeat(payloadBytes) } }),
  }));
  const bodies = await storeEventBodies(env, rows);
  const seeded = [];
  for (const [i, row] of rows.entries()) {
    const deliveryId = newId("delivery", at);
    const attempt = await storedAttempt(env, {
      id: newId("attempt", at),
      projectId,
      deliveryId,
      attempt: 1,
      trigger: "scheduled",
      startedAt: new Date(at),
      durationMs: 12,
      request: { url: "https://r.example.com/", headers: { "webhook-signature": "v1,sig" } },
      response: { status: row.status === "succeeded" ? 200 : 500, headers: {}, body: "r".repeat(2048), bodyTruncated: false },
      error: null,
    });
    await db.batch([
      db.insert(events).values({ id: row.id, projectId, eventType: "t.old", body: bodies[i], idempotencyKey: null, createdAt: new Date(at) }),
      db.insert(deliveries).values({
        id: deliveryId,
        projectId,
        eventId: row.id,
        endpointId,
        eventType: "t.old",
        status: row.status,
        attemptCount: 1,
        nextAttemptAt: row.status === "succeeded" || row.status === "failed" ? null : new Date(at + 60_000),
        createdAt: new Date(at),
        updatedAt: new Date(at),
      }),
      db.insert(attempts).values(attempt),
    ]);
    seeded.push({ eventId: row.id, deliveryId, attemptId: attempt.id, status: row.status, body: bodies[i] });
  }
  return seeded;
}

async function setup(retentionDays?: number) {
  const project = await createProject("retention");
  if (retentionDays) expect((await client(project.apiKey)("PATCH", "/project", { retentionDays })).status).toBe(200);
  const endpoint = await createEndpoint(project.apiKey, { url: "https://r.example.com/" });
  return { project, endpoint };
}

const remaining = async (eventIds: string[]) => ({
  events: (await db.select({ id: events.id }).from(events).where(inArray(events.id, eventIds))).map((r) => r.id).sort(),
  deliveries: (await db.select({ id: deliveries.eventId }).from(deliveries).where(inArray(deliveries.eventId, eventIds))).map((r) => r.id).sort(),
  attempts: (
    await db
      .select({ id: deliveries.eventId })
      .from(attempts)
      .innerJoin(deliveries, eq(deliveries.id, attempts.deliveryId))
      .where(inArray(deliveries.eventId, eventIds))
  )
    .map((r) => r.id)
    .sort(),
});
const inR2 = async (key: string) => (await env.BODIES.head(key)) !== null;
const packKey = (body: string) => /^r2:([^#]+)#/.exec(body)![1];

describe("retention", { timeout: 30_000 }, () => {
  it("deletes finished events past the horizon with their deliveries, attempts and R2 bodies, and nothing pending or recent", async () => {
    const { project, endpoint } = await setup();
    const now = Date.now();
    const old = await seedEvents(project.id, endpoint.id, now - 31 * DAY, ["succeeded", "failed", "succeeded"]);
    const pending = await seedEvents(project.id, endpoint.id, now - 40 * DAY, ["queued", "retrying", "sending", "paused"]);
    const recent = await seedEvents(project.id, endpoint.id, now - 29 * DAY, ["succeeded"]);
    const all = [...old, ...pending, ...recent].map((s) => s.eventId);

    const result = await applyRetention(env, { now });
    expect(result.finished).toBe(true);

    const kept = [...pending, ...recent].map((s) => s.eventId).sort();
    expect(await remaining(all)).toEqual({ events: kept, deliveries: kept, attempts: kept });
    for (const s of old) expect(await inR2(responseBodyKey(s.attemptId)), "old response body").toBe(false);
    expect(await inR2(packKey(old[0].body)), "old events' pack").toBe(false);
    for (const s of [...pending, ...recent]) expect(await inR2(responseBodyKey(s.attemptId))).toBe(true);
    expect(await inR2(packKey(pending[0].body))).toBe(true);
    // What is kept still reads back whole.
    const call = client(project.apiKey);
    const detail = await call("GET", `/deliveries/${pending[0].deliveryId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.attempts[0].response.body).toBe("r".repeat(2048));
    expect(JSON.parse(detail.body.attempts[0].request.body).data.pad).toHaveLength(2000);
    expect((await call("GET", `/events/${old[0].eventId}`)).status).toBe(404);
  });

  it("keeps a pack that a pending event still points into, and deletes it with that event once it finishes", async () => {
    const { project, endpoint } = await setup();
    const now = Date.now();
    const [done, waiting] = await seedEvents(project.id, endpoint.id, now - 35 * DAY, ["succeeded", "retrying"]);
    expect(packKey(done.body)).toBe(packKey(waiting.body));

    await applyRetention(env, { now });
    expect((await remaining([done.eventId, waiting.eventId])).events).toEqual([waiting.eventId]);
    expect(await inR2(packKey(waiting.body))).toBe(true);
    const [row] = await db.select({ cursor: projects.retentionCursor }).from(projects).where(eq(projects.id, project.id));
    expect(row.cursor, "a finished pass starts over next time").toBeNull();

    await db.update(deliveries).set({ status: "failed", nextAttemptAt: null }).where(eq(deliveries.id, waiting.deliveryId));
    await applyRetention(env, { now });
    expect((await remaining([waiting.eventId])).events).toEqual([]);
    expect(await inR2(packKey(waiting.body))).toBe(false);
  });

  it("uses each project's own retentionDays, and the deployment's RETENTION_SECONDS over all of them", async () => {
    const long = await setup(365);
    const now = Date.now();
    const [kept] = await seedEvents(long.project.id, long.endpoint.id, now - 100 * DAY, ["succeeded"]);
    await applyRetention(env, { now });
    expect((await remaining([kept.eventId])).events).toEqual([kept.eventId]);

    const overridden = { ...env, RETENTION_SECONDS: String(50 * 86_400) } as Env;
    expect(retentionMs(overridden, { retentionDays: 365 })).toBe(50 * DAY);
    await applyRetention(overridden, { now });
    expect((await remaining([kept.eventId])).events).toEqual([]);
  });

  it("deletes finished alert emails past the horizon, never pending ones", async () => {
    const { project, endpoint } = await setup();
    const now = Date.now();
    const alert = (at: number, status: "sent" | "pending" | "failed") => ({
      id: newId("alert", at),
      projectId: project.id,
      endpointId: endpoint.id,
      kind: "endpoint.disabled" as const,
      dedupeKey: `test:${crypto.randomUUID()}`,
      recipients: ["ops@example.com"],
      subject: "s",
      text: "t",
      html: "h",
      status,
      createdAt: new Date(at),
    });
    const rows = [alert(now - 40 * DAY, "sent"), alert(now - 40 * DAY, "failed"), alert(now - 40 * DAY, "pending"), alert(now - DAY, "sent")];
    await db.insert(alerts).values(rows);
    const result = await applyRetention(env, { now });
    expect(result.alerts).toBeGreaterThanOrEqual(2);
    const left = await db.select({ id: alerts.id }).from(alerts).where(eq(alerts.projectId, project.id));
    expect(left.map((r) => r.id).sort()).toEqual([rows[2].id, rows[3].id].sort());
  });

  it("works through more old events than one step takes, until everything past the horizon is gone", async () => {
    const { project, endpoint } = await setup();
    const now = Date.now();
    // 1,200 events in one ingest-like call of small bodies: more than one step (500 events) of the job.
    const at = now - 60 * DAY;
    const ids = Array.from({ length: 1200 }, () => newId("event", at));
    await env.DB.batch([
      env.DB.prepare("insert into events (id, project_id, event_type, body, created_at) select value, ?1, 't.bulk', '{}', ?2 from json_each(?3)").bind(project.id, at, JSON.stringify(ids)),
      env.DB.prepare(
        "insert into deliveries (id, project_id, event_id, endpoint_id, event_type, status, created_at, updated_at) select 'dlv_' || substr(value, 5), ?1, value, ?2, 't.bulk', 'succeeded', ?3, ?3 from json_each(?4)",
      ).bind(project.id, endpoint.id, at, JSON.stringify(ids)),
    ]);
    const result = await applyRetention(env, { now });
    expect(result).toMatchObject({ events: 1200, deliveries: 1200, finished: true });
    expect(await db.$count(events, eq(events.projectId, project.id))).toBe(0);
    expect(await db.$count(deliveries, eq(deliveries.projectId, project.id))).toBe(0);
  });
});

describe("retention of the /stats rollups", { timeout: 30_000 }, () => {
  it("deletes the minute and hour rows that ended before the horizon, in bounded statements, and keeps the rest", async () => {
    const { project } = await setup();
    const other = await setup(365);
    const now = Date.now();
    const horizon = now - 30 * DAY;
    const minute = (at: number) => Math.floor(at / 60_000) * 60_000;
    const hour = (at: number) => Math.floor(at / 3_600_000) * 3_600_000;
    const row = (projectId: string, span: number, start: number, applicationId = "") =>
      env.DB.prepare("insert into stats_rollups (project_id, application_id, span_minutes, start, attempts) values (?, ?, ?, ?, 1)").bind(projectId, applicationId, span, start);
    // 2,500 old minutes: more than one statement (2,000 rows) deletes; an old hour of an application; the
    // hour the horizon falls in, which has not ended before it; and a recent minute.
    await env.DB.batch([
      env.DB.prepare(
        `with recursive n(i) as (select 1 union all select i + 1 from n where i < 2500)
         insert into stats_rollups (project_id, application_id, span_minutes, start, attempts) select ?1, '', 1, ?2 - i * 60000, 1 from n`,
      ).bind(project.id, minute(horizon - 3 * DAY)),
      row(project.id, 60, hour(now - 31 * DAY), "app_old"),
      row(project.id, 60, hour(horizon)),
      row(project.id, 1, minute(now - 2 * DAY)),
      row(other.project.id, 1, minute(now - 31 * DAY)),
      row(other.project.id, 60, hour(now - 31 * DAY)),
    ]);
    const rowsOf = async (projectId: string) =>
      (await db.select({ span: statsRollups.spanMinutes, start: statsRollups.start }).from(statsRollups).where(eq(statsRollups.projectId, projectId))).map((r) => ({ span: r.span, start: r.start.getTime() }));
    const before = await rowsOf(project.id);
    const ended = (row: { span: number; start: number }) => row.start + row.span * 60_000 <= horizon;
    expect(before.filter(ended)).toHaveLength(2501);

    const result = await applyRetention(env, { now });
    expect(result.statsRollups).toBe(2501);
    const after = await rowsOf(project.id);
    expect(after).toEqual(before.filter((row) => !ended(row)));
    expect(after).toEqual(expect.arrayContaining([{ span: 60, start: hour(horizon) }, { span: 1, start: minute(now - 2 * DAY) }]));
    expect(after).toHaveLength(2);
    // A project keeping a year keeps its old rows: a minute and an hour.
    expect(await rowsOf(other.project.id)).toHaveLength(2);
  });
});

describe("retention settings in the API", () => {
  it("GET /project says how long data is kept and since when; PATCH takes 1–365 days", async () => {
    const { apiKey } = await createProject("retention-api");
    const call = client(apiKey);
    const before = Date.now();
    const { body } = await call("GET", "/project");
    expect(body).toMatchObject({ retentionDays: 30, retentionSeconds: 30 * 86_400 });
    expect(Date.parse(body.retainedSince)).toBeGreaterThanOrEqual(before - 30 * DAY - 1000);
    expect(Date.parse(body.retainedSince)).toBeLessThanOrEqual(Date.now() - 30 * DAY);

    const patched = await call("PATCH", "/project", { retentionDays: 7 });
    expect(patched.body).toMatchObject({ retentionDays: 7, retentionSeconds: 7 * 86_400 });
    for (const bad of [0, 366, 1.5, "7"]) {
      const problem = expectProblem(await call("PATCH", "/project", { retentionDays: bad }), 422);
      expect(problem.errors?.[0].path).toBe("retentionDays");
    }
    expect((await call("GET", "/stats")).body.retainedSince).toBeDefined();
  });
});
