import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LATENCY_BIN_FLOORS_MS, latencyBinColumn } from "../../../workers/db/schema";
import { client, createEndpoint, createProject, sendEvent } from "../helpers";

type Stats = {
  events: number;
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  buckets: { start: string; deliveries: number; succeeded: number; failed: number; p50Ms: number | null; p95Ms: number | null }[];
};

/**
 * Attempts of one delivery numbered after `attemptsBefore`, written in one statement (so the rollup trigger
 * runs once per row, as it does for the delivery path's inserts): started `agoMs` ago plus `i` ms, with the
 * duration `durationSql` gives for `i` (1-based) and a 200 response unless `status` says otherwise.
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

  it("puts every duration in the bin whose floor it reaches: the trigger's SQL and the schema's floors agree", async () => {
    const { project, deliveryId } = await projectWithDelivery();
    const durations = [...new Set(LATENCY_BIN_FLOORS_MS.flatMap((floor) => [floor, floor + 1, Math.max(0, floor - 1)])), 90_000];
    await insertAttempts(project.id, deliveryId, { count: durations.length, agoMs: 60_000, idPrefix: "atm_bins_", durationSql: `json_extract('${JSON.stringify(durations)}', '$[' || (i - 1) || ']')` });
    const row = await env.DB.prepare("select * from stats_rollups where project_id = ? and application_id is null and span_minutes = 1 and attempts > 0").bind(project.id).first<Record<string, number>>();
    const binOf = (duration: number) => LATENCY_BIN_FLOORS_MS.findLastIndex((floor) => floor <= duration);
    const expected = LATENCY_BIN_FLOORS_MS.map((_, bin) => durations.filter((duration) => binOf(duration) === bin).length);
    expect(LATENCY_BIN_FLOORS_MS.map((floor) => row![latencyBinColumn(floor)])).toEqual(expected);
  });

  it("filters by application, keeps projects apart and follows a delivery's status", async () => {
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
    expect(whole).toMatchObject({ events: 2, deliveries: 2 });
    expect([sum(whole, "deliveries"), sum(whole, "succeeded"), sum(whole, "failed")]).toEqual([42, 30, 12]);
    const app = (await ownerCall("GET", "/stats?application=stats-app")).body as Stats;
    expect(app).toMatchObject({ events: 1, deliveries: 1, pending: 0 });
    expect([sum(app, "deliveries"), sum(app, "succeeded"), sum(app, "failed")]).toEqual([30, 30, 0]);
    const elsewhere = (await other.call("GET", "/stats")).body as Stats;
    expect(elsewhere).toMatchObject({ events: 1, deliveries: 1 });
    expect(sum(elsewhere, "deliveries")).toBe(0);

    // A status change moves the delivery between the counts of its creation minute, in both rows.
    expect(app).toMatchObject({ succeeded: 0, failed: 0 });
    await env.DB.prepare("update deliveries set status = 'succeeded' where id = ?").bind(owner.deliveryId).run();
    await env.DB.prepare("update deliveries set status = 'queued' where id = ?").bind(own.deliveries[0].id).run();
    expect((await ownerCall("GET", "/stats?application=stats-app")).body).toMatchObject({ deliveries: 1, succeeded: 1, pending: 0 });
    expect((await ownerCall("GET", "/stats")).body).toMatchObject({ deliveries: 2, succeeded: 1, pending: 1, successRate: 1 });
  });

  it("the migration's backfill rebuilds from stored rows what the triggers kept", async () => {
    const { project, call, deliveryId } = await projectWithDelivery({ application: "backfilled" });
    await insertAttempts(project.id, deliveryId, { count: 500, agoMs: 2 * 3_600_000, idPrefix: "atm_back_", durationSql: "i % 300" });
    await env.DB.prepare("update deliveries set status = 'failed' where id = ?").bind(deliveryId).run();
    const read = async () => [(await call("GET", "/stats")).body, (await call("GET", "/stats?application=backfilled")).body].map(({ since, until, retainedSince, ...rest }: any) => rest);
    const kept = await read();

    const migration = env.TEST_MIGRATIONS.find((m) => m.name === "0007_stats_rollups.sql")!;
    const backfill = migration.queries.filter((query) => query.includes("INSERT INTO stats_rollups") && !query.includes("CREATE TRIGGER"));
    expect(backfill).toHaveLength(12);
    await env.DB.batch([env.DB.prepare("delete from stats_rollups"), ...backfill.map((query) => env.DB.prepare(query))]);
    expect(await read()).toEqual(kept);
    expect(kept[1]).toMatchObject({ events: 1, deliveries: 1, failed: 1 });
  });
});
