import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, sendEvent } from "../helpers";

/** `count` attempts of one delivery numbered after `attemptsBefore`, started `agoMs` ago and 1 ms apart, written in one statement. */
async function insertAttempts(projectId: string, deliveryId: string, count: number, agoMs: number, idPrefix: string, attemptsBefore = 0) {
  const startedAt = Date.now() - agoMs;
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
     insert into attempts (id, project_id, delivery_id, attempt, "trigger", started_at, duration_ms, request, response, error)
     select ? || printf('%08d', i), ?, ?, ? + i, 'scheduled', ? + i, 10, '{"url":"https://x.example/"}', '{"status":200,"headers":{},"excerpt":"","bodyBytes":0,"bodyTruncated":false}', null from n`,
  )
    .bind(count, idPrefix, projectId, deliveryId, attemptsBefore, startedAt)
    .run();
}

describe("GET /stats at more attempts than it samples", () => {
  it("counts the newest attempts: the recent buckets are whole, the oldest are left out", { timeout: 120_000 }, async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const endpoint = await createEndpoint(project.apiKey, { url: "https://stats.example.com/hook" });
    expect((await call("POST", `/endpoints/${endpoint.id}/disable`, {})).status).toBe(200);
    const sent = await sendEvent(project.apiKey, { eventType: "stats.sampled", payload: {} });
    // Written oldest first: a read without ORDER BY returns these first and its limit stops before the new ones.
    await insertAttempts(project.id, sent.deliveries[0].id, 50_000, 20 * 3_600_000, "atm_old_");
    await insertAttempts(project.id, sent.deliveries[0].id, 120, 10 * 60_000, "atm_new_", 50_000);

    const stats = (await call("GET", "/stats?bucketMinutes=60")).body as { buckets: { start: string; deliveries: number; succeeded: number }[] };
    const newest = stats.buckets.filter((bucket) => bucket.deliveries > 0).at(-1)!;
    expect(Date.now() - new Date(newest.start).getTime()).toBeLessThan(2 * 3_600_000);
    const sampled = stats.buckets.reduce((sum, bucket) => sum + bucket.deliveries, 0);
    expect(sampled).toBe(50_000);
    expect(stats.buckets.reduce((sum, bucket) => sum + bucket.succeeded, 0)).toBe(50_000);
    // All 120 new ones are in, so 120 of the old ones (the oldest) are not.
    const recent = stats.buckets.filter((bucket) => Date.now() - new Date(bucket.start).getTime() < 2 * 3_600_000);
    expect(recent.reduce((sum, bucket) => sum + bucket.deliveries, 0)).toBe(120);
  });
});
