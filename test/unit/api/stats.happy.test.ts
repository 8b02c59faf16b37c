import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATENCY_BIN_FLOORS_MS, latencyBinColumn } from "../../../workers/db/schema";
import { countAttemptsStatement } from "../../../workers/delivery/writes";
import { writeEvents, type WrittenEvent } from "../../../workers/ingest/write";
import { idFloor, newId } from "../../../workers/db/ids";
import { client, createEndpoint, createProject, eventually, fakeReceivers, sendEvent } from "../helpers";

type Stats = {
  events: number;
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  pendingCapped: boolean;
  successRate: number | null;
  buckets: { start: string; deliveries: number; succeeded: number; failed: number; p50Ms: number | null; p95Ms: number | null }[];
};

/**
 * Attempts of one delivery numbered after `attemptsBefore`, written in one statement and counted in the
 * rollups by the delivery path's own statement: started `agoMs` ago plus `i` ms, with the duration
 * `durationSql` gives for `i` (1-based) and a 200 response unless `status` says otherwise.
 */
async function insertAttempts(
  projectId: string,
  deliveryId: string,
  options: { count: number; agoMs: number; idPrefix: string; attemptsBefore?: number; durationSql?: string; status?: number },
) {
  const { count, agoMs, idPrefix, attemptsBefore = 0, durationSql = "10", status = 200 } = options;
  const response = JSON.stringify({ status, headers: {}, excerpt: "", bodyBytes: 0, bodyTruncated: false });
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
     insert into attempts (id, project_id, delivery_id, attempt, "trigger", started_at, duration_ms, request, response, error)
     select ? || printf('%08d', i), ?, ?, ? + i, 'scheduled', ? + i, ${durationSql}, '{"url":"https://x.example/"}', ?, null from n`,
  )
    .bind(count, idPrefix, projectId, deliveryId, attemptsBefore, Date.now() - agoMs, response)
    .run();
  const ids = Array.from({ length: count }, (_, i) => `${idPrefix}${String(i + 1).padStart(8, "0")}`);
  await countAttemptsStatement(env.DB, ids).run();
}

/** A project with one disabled endpoint (nothing is sent) and one event, whose paused delivery the attempts are hung on. */
async function projectWithDelivery(options: { application?: string } = {}) {
  const project = await createProject();
  const call = client(project.apiKey);
  let applicationId: string | undefined;
  if (options.application) applicationId = (await call("POST", "/applications", { name: options.application, uid: options.application })).body.id;
  const endpoint = await createEndpoint(project.apiKey, { url: "https://stats.example.com/hook", applicationId });
  expect((await call("POST", `/endpoints/${endpoint.id}/disable`, {})).status).toBe(200);
  const sent = await sendEvent(project.apiKey, { eventType: "stats.rolled", payload: {}, application: options.application });
  return { project, call, deliveryId: sent.deliveries[0].id as string };
}

const sum = (stats: Stats, key: "deliveries" | "succeeded" | "failed") => stats.buckets.reduce((total, bucket) => total + bucket[key], 0);

describe("GET /stats from the rollups", () => {
  it("counts every attempt, in the bucket of its start, past the 50,000 the old read sampled", { timeout: 120_000 }, async () => {
    const { project, call, deliveryId } = await projectWithDelivery();
    await insertAttempts(project.id, deliveryId, { count: 60_000, agoMs: 20 * 3_600_000, idPrefix: "atm_old_" });
    await insertAttempts(project.id, deliveryId, { count: 120, agoMs: 10 * 60_000, idPrefix: "atm_new_", attemptsBefore: 60_000, status: 500 });

    const stats = (await call("GET", "/stats?bucketMinutes=60")).body as Stats;
    expect(stats.buckets).toHaveLength(25);
    expect(sum(stats, "deliveries")).toBe(60_120);
    expect(sum(stats, "succeeded")).toBe(60_000);
    expect(sum(stats, "failed")).toBe(120);
    const recent = stats.buckets.filter((bucket) => Date.now() - new Date(bucket.start).getTime() < 2 * 3_600_000);
    expect(recent.reduce((total, bucket) => total + bucket.failed, 0)).toBe(120);
    // 60,000 attempts 1 ms apart span a minute: with 1-minute buckets they fall in one or two.
    const minutes = (await call("GET", `/stats?bucketMinutes=1&since=${encodeURIComponent(new Date(Date.now() - 21 * 3_600_000).toISOString())}`)).body as Stats;
    expect(minutes.buckets.length).toBeGreaterThan(1_200);
    expect(minutes.buckets.filter((bucket) => bucket.succeeded > 0).length).toBeLessThanOrEqual(2);
    expect(sum(minutes, "deliveries")).toBe(60_120);
    expect(stats).toMatchObject({ events: 1, deliveries: 1, pending: 0 });
  });

  it("with hour buckets, counts the minutes before the first whole hour once and nothing before `since`'s minute", async () => {
    const { project, call, deliveryId } = await projectWithDelivery();
    const since = Math.floor((Date.now() - 90 * 60_000) / 3_600_000) * 3_600_000 + 20 * 60_000;
    const at = (ms: number) => Date.now() - ms;
    // Before `since`, in the partial hour after it (minute rows), and in whole hours after (hour rows).
    await insertAttempts(project.id, deliveryId, { count: 5, agoMs: at(since - 2 * 60_000), idPrefix: "atm_before_" });
    await insertAttempts(project.id, deliveryId, { count: 7, agoMs: at(since + 10 * 60_000), idPrefix: "atm_edge_", attemptsBefore: 5 });
    await insertAttempts(project.id, deliveryId, { count: 11, agoMs: at(since + 50 * 60_000), idPrefix: "atm_whole_", attemptsBefore: 12 });
    const stats = (await call("GET", `/stats?bucketMinutes=60&since=${encodeURIComponent(new Date(since).toISOString())}`)).body as Stats;
    expect(stats.buckets.map((bucket) => bucket.deliveries).filter(Boolean)).toEqual([7, 11]);
    const daily = (await call("GET", `/stats?bucketMinutes=1440&since=${encodeURIComponent(new Date(since).toISOString())}`)).body as Stats;
    expect(sum(daily, "deliveries")).toBe(18);
  });

  it("gives p50/p95 within the histogram's stated accuracy (exact below 9 ms, within 10 % above)", async () => {
    const { project, call, deliveryId } = await projectWithDelivery();
    // Durations 1..2,000 ms in the last bucket: the old read's p50 was sorted[1,000] = 1,001 ms, p95 sorted[1,900] = 1,901 ms.
    await insertAttempts(project.id, deliveryId, { count: 2_000, agoMs: 5 * 60_000, idPrefix: "atm_spread_", durationSql: "i" });
    const spread = ((await call("GET", "/stats?bucketMinutes=1440")).body as Stats).buckets.find((bucket) => bucket.deliveries > 0)!;
    expect(Math.abs(spread.p50Ms! - 1_001) / 1_001).toBeLessThanOrEqual(0.1);
    expect(Math.abs(spread.p95Ms! - 1_901) / 1_901).toBeLessThanOrEqual(0.1);

    const fast = await projectWithDelivery();
    await insertAttempts(fast.project.id, fast.deliveryId, { count: 100, agoMs: 5 * 60_000, idPrefix: "atm_fast_", durationSql: "case when i <= 50 then 3 else 7 end" });
    const exact = ((await fast.call("GET", "/stats?bucketMinutes=1440")).body as Stats).buckets.find((bucket) => bucket.deliveries > 0)!;
    expect(exact).toMatchObject({ deliveries: 100, p50Ms: 7, p95Ms: 7 });
    expect(((await fast.call("GET", "/stats")).body as Stats).buckets.every((bucket) => bucket.deliveries > 0 || bucket.p50Ms === null)).toBe(true);
  });

  it("puts every duration in the bin whose floor it reaches: the rollup's SQL and the schema's floors agree", async () => {
    const { project, deliveryId } = await projectWithDelivery();
    const durations = [...new Set(LATENCY_BIN_FLOORS_MS.flatMap((floor) => [floor, floor + 1, Math.max(0, floor - 1)])), 90_000];
    await insertAttempts(project.id, deliveryId, { count: durations.length, agoMs: 60_000, idPrefix: "atm_bins_", durationSql: `json_extract('${JSON.stringify(durations)}', '$[' || (i - 1) || ']')` });
    const row = await env.DB.prepare("select * from stats_rollups where project_id = ? and application_id = '' and span_minutes = 1 and attempts > 0").bind(project.id).first<Record<string, number>>();
    const binOf = (duration: number) => LATENCY_BIN_FLOORS_MS.findLastIndex((floor) => floor <= duration);
    const expected = LATENCY_BIN_FLOORS_MS.map((_, bin) => durations.filter((duration) => binOf(duration) === bin).length);
    expect(LATENCY_BIN_FLOORS_MS.map((floor) => row![latencyBinColumn(floor)])).toEqual(expected);
  });

  it("filters by application, keeps projects apart and counts pending deliveries as they are now", async () => {
    const owner = await projectWithDelivery({ application: "stats-app" });
    const ownerCall = owner.call;
    // The project's own endpoint gets the events sent to no application; disabled too, so nothing is sent.
    const ownEndpoint = await createEndpoint(owner.project.apiKey, { url: "https://own.example.com/hook" });
    expect((await ownerCall("POST", `/endpoints/${ownEndpoint.id}/disable`, {})).status).toBe(200);
    const own = await sendEvent(owner.project.apiKey, { eventType: "stats.own", payload: {} });
    await insertAttempts(owner.project.id, owner.deliveryId, { count: 30, agoMs: 3 * 60_000, idPrefix: "atm_app_" });
    await insertAttempts(owner.project.id, own.deliveries[0].id, { count: 12, agoMs: 3 * 60_000, idPrefix: "atm_own_", status: 503 });
    const other = await projectWithDelivery({ application: "stats-app" });

    const whole = (await ownerCall("GET", "/stats")).body as Stats;
    expect(whole).toMatchObject({ events: 2, deliveries: 2, succeeded: 30, failed: 0, pending: 0, pendingCapped: false });
    expect([sum(whole, "deliveries"), sum(whole, "succeeded"), sum(whole, "failed")]).toEqual([42, 30, 12]);
    const app = (await ownerCall("GET", "/stats?application=stats-app")).body as Stats;
    expect(app).toMatchObject({ events: 1, deliveries: 1, succeeded: 30, pending: 0 });
    expect([sum(app, "deliveries"), sum(app, "succeeded"), sum(app, "failed")]).toEqual([30, 30, 0]);
    const elsewhere = (await other.call("GET", "/stats")).body as Stats;
    expect(elsewhere).toMatchObject({ events: 1, deliveries: 1 });
    expect(sum(elsewhere, "deliveries")).toBe(0);

    await env.DB.prepare("update deliveries set status = 'queued' where id = ?").bind(own.deliveries[0].id).run();
    expect((await ownerCall("GET", "/stats")).body).toMatchObject({ pending: 1, pendingCapped: false });
    expect((await ownerCall("GET", "/stats?application=stats-app")).body).toMatchObject({ pending: 0 });
  });

  it("counts pending deliveries among at most 10,000 of the project's, and says so", async () => {
    const { project, call } = await projectWithDelivery({ application: "capped" });
    const endpoint = await createEndpoint(project.apiKey, { url: "https://capped.example.com/hook" });
    expect((await call("POST", `/endpoints/${endpoint.id}/disable`, {})).status).toBe(200);
    const { id: eventId } = await sendEvent(project.apiKey, { eventType: "stats.capped", payload: {} });
    await env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < 10001)
       insert into deliveries (id, project_id, event_id, endpoint_id, event_type, status, attempt_count, schedule_step, next_trigger, next_attempt_at, enqueued_at, created_at, updated_at)
       select ? || printf('%016d', i), ?, ?, ?, 'stats.capped', 'queued', 0, 0, 'scheduled', 0, 0, 0, 0 from n`,
    )
      .bind(idFloor("delivery", Date.now()), project.id, eventId, endpoint.id)
      .run();
    expect((await call("GET", "/stats")).body).toMatchObject({ pending: 10_000, pendingCapped: true });
    expect((await call("GET", "/stats?application=capped")).body).toMatchObject({ pending: 0, pendingCapped: true });
  });

  it("the migration's backfill rebuilds from stored rows what the writes counted, and the failed delivery", async () => {
    const { project, call, deliveryId } = await projectWithDelivery({ application: "backfilled" });
    await insertAttempts(project.id, deliveryId, { count: 500, agoMs: 2 * 3_600_000, idPrefix: "atm_back_", durationSql: "i % 300", status: 500 });
    const read = async () => [(await call("GET", "/stats")).body, (await call("GET", "/stats?application=backfilled")).body].map(({ since, until, retainedSince, ...rest }: any) => rest);
    const counted = await read();
    // The writes count a failed delivery when its last attempt is recorded; here it is failed afterwards.
    await env.DB.prepare("update deliveries set status = 'failed', attempt_count = 500 where id = ?").bind(deliveryId).run();

    const migration = env.TEST_MIGRATIONS.find((m) => m.name === "0007_stats_rollups.sql")!;
    const backfill = migration.queries.filter((query) => query.includes("insert into stats_rollups"));
    expect(backfill).toHaveLength(3);
    await env.DB.batch([env.DB.prepare("delete from stats_rollups"), ...backfill.map((query) => env.DB.prepare(query))]);
    expect(await read()).toEqual(counted.map((stats) => ({ ...stats, failed: 1, successRate: 0 })));
    expect(counted[1]).toMatchObject({ events: 1, deliveries: 1, succeeded: 0, failed: 0 });
  });
});

describe("what the writes count", () => {
  let receivers: ReturnType<typeof fakeReceivers>;
  beforeAll(() => {
    receivers = fakeReceivers();
  });
  afterAll(() => receivers.restore());

  it("ingest and the delivery path count each event, delivery and attempt once, however they are sent", { timeout: 30_000 }, async () => {
    receivers.on("https://counted-ok.example.com/", () => new Response("ok"));
    receivers.on("https://counted-down.example.com/", () => new Response("down", { status: 503 }));
    const project = await createProject("counted");
    const call = client(project.apiKey);
    expect((await call("PATCH", "/project", { retrySchedule: [1] })).status).toBe(200);
    await createEndpoint(project.apiKey, { url: "https://counted-ok.example.com/hook" });
    await createEndpoint(project.apiKey, { url: "https://counted-down.example.com/hook", eventTypes: ["counted.down"] });
    const batch = await call("POST", "/events/batch", { events: Array.from({ length: 20 }, (_, i) => ({ eventType: "counted.ok", payload: { i } })) });
    expect(batch.status).toBe(202);
    for (let i = 0; i < 2; i++) {
      // The second is the same key: answered with the first event, counted once.
      expect((await call("POST", "/events", { eventType: "counted.down", payload: {}, idempotencyKey: "counted-down" })).status).toBe(i === 0 ? 202 : 200);
    }
    const settled = await eventually(async () => {
      const deliveries = (await call("GET", "/deliveries?limit=100")).body.data as { status: string }[];
      return deliveries.length === 22 && deliveries.every((d) => d.status === "succeeded" || d.status === "failed") && deliveries;
    }, 20_000);
    expect(settled.filter((d) => d.status === "failed")).toHaveLength(1);

    const stats = (await call("GET", "/stats?bucketMinutes=1")).body as Stats;
    // 21 events: 20 to the healthy endpoint, 1 to both; the failing one was tried twice (schedule [1]).
    expect(stats).toMatchObject({ events: 21, deliveries: 22, succeeded: 21, failed: 1, pending: 0 });
    expect([sum(stats, "deliveries"), sum(stats, "succeeded"), sum(stats, "failed")]).toEqual([23, 21, 2]);
  });

  it("a write repeated after an unknown outcome counts nothing twice; a key taken earlier in the same write counts once", async () => {
    const project = await createProject("rewritten");
    await createEndpoint(project.apiKey, { url: "https://rewritten.example.com/hook" });
    const now = Date.now();
    const written: WrittenEvent[] = ["a", "b", "b"].map((key) => ({
      id: newId("event"),
      projectId: project.id,
      eventType: "rewritten.test",
      applicationId: null,
      body: "{}",
      bodyFormat: "envelope",
      idempotencyKey: key,
      createdAt: now,
      deliveryIdFloor: idFloor("delivery", now),
      endpointIds: null,
    }));
    for (const recheck of [false, true]) await env.DB.batch(writeEvents(env.DB, written, now, { recheck }).statements);
    expect((await client(project.apiKey)("GET", "/stats")).body).toMatchObject({ events: 2, deliveries: 2 });
  });
});
