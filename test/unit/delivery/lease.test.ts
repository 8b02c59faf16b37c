import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { responseBodyKey } from "../../../workers/db/bodies";
import { database } from "../../../workers/db/client";
import { newId } from "../../../workers/db/ids";
import { endpoints, projects } from "../../../workers/db/schema";
import { sweepDueDeliveries } from "../../../workers/delivery/sweeper";
import { endpointHealth } from "../../../workers/endpoint-health/client";
import { deliveryRow, eventually, fakeReceivers, runConsumer, seedDelivery } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
});
afterEach(() => {
  receivers.restore();
  vi.restoreAllMocks();
});

/**
 * A first sender claims and sends; its endpoint answers only after the lease has lapsed, the sweeper has
 * re-enqueued the delivery and a second sender has finished with it. Then the first one's 500 arrives.
 */
async function staleSender(name: string, retrySchedule: number[], holderDone: (status: string) => boolean) {
  const host = `https://${name}.example.com/`;
  let answerFirst!: (response: Response) => void;
  receivers.on(host, (_, n) => (n === 1 ? new Promise<Response>((resolve) => (answerFirst = resolve)) : new Response("ok")));
  const { delivery, endpoint, project } = await seedDelivery({ url: `${host}hook`, project: { retrySchedule } });
  // A meta endpoint, so a `delivery.failed` event shows as an event row.
  const db = database(env);
  const meta = { ...endpoint, id: newId("endpoint"), url: "https://meta.example.com/hook" };
  await db.insert(endpoints).values(meta);
  await db.update(projects).set({ metaEndpointId: meta.id }).where(eq(projects.id, project.id));

  const firstSender = runConsumer([delivery.id]);
  await eventually(async () => receivers.requests(host).length === 1);
  await env.DB.prepare("update deliveries set lease_until = ? where id = ?").bind(Date.now() - 1, delivery.id).run();
  expect((await sweepDueDeliveries(env)).requeued).toBeGreaterThanOrEqual(1);
  await eventually(async () => holderDone((await deliveryRow(delivery.id)).status), 15_000);

  const queueSends = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch");
  // Longer than the excerpt D1 keeps, so the stale sender puts the whole body in R2 before it tries to record.
  answerFirst(new Response(`late failure ${"x".repeat(1_000)}`, { status: 500 }));
  await firstSender;

  const attempts = await env.DB.prepare("select attempt, response from attempts where delivery_id = ?").bind(delivery.id).all<{ attempt: number; response: string }>();
  const deliveryFailedEvents = async () =>
    (await env.DB.prepare("select count(*) as n from events where project_id = ? and event_type = 'delivery.failed'").bind(project.id).first<{ n: number }>())?.n;
  const recordedBodies = new Set((await env.DB.prepare("select id from attempts").all<{ id: string }>()).results.map((row) => responseBodyKey(row.id)));
  const storedBodies = (await env.BODIES.list({ prefix: "responses/" })).objects.map((object) => object.key);
  return {
    sends: receivers.requests(host).length,
    bodiesOfNoAttempt: storedBodies.filter((key) => !recordedBodies.has(key)),
    attempts: attempts.results.map((a) => [a.attempt, JSON.parse(a.response).status]),
    row: await deliveryRow(delivery.id),
    queueSendsByStaleSender: queueSends.mock.calls.length,
    health: await endpointHealth(env, endpoint.id),
    deliveryFailedEvents,
  };
}

describe("only the lease holder records", { timeout: 30_000 }, () => {
  it("a sender whose lease lapsed mid-send records no attempt, state, queue message or outcome once the re-send holds it", async () => {
    const seen = await staleSender("stale-retry", [60], (status) => status === "succeeded");
    expect(seen.sends).toBe(2);
    expect(seen.attempts).toEqual([[2, 200]]);
    expect(seen.row).toMatchObject({ status: "succeeded", attemptCount: 2, lastStatusCode: 200, lastError: null, leaseUntil: null });
    // Its 500 would have enqueued a retry.
    expect(seen.queueSendsByStaleSender).toBe(0);
    // One outcome in the endpoint's DO: the holder's success.
    expect(seen.health).toMatchObject({ consecutiveFailures: 0, lastStatusCode: 200, lastFailureAt: null });
    expect(await seen.deliveryFailedEvents()).toBe(0);
    // Nor does it leave its response body in R2.
    expect(seen.bodiesOfNoAttempt).toEqual([]);
  });

  it("when the lapsed send was the schedule's last, the holder fails the delivery without sending; the stale sender adds nothing", async () => {
    const seen = await staleSender("stale-last", [], (status) => status === "failed");
    expect(seen.sends).toBe(1);
    expect(seen.attempts).toEqual([]);
    expect(seen.row).toMatchObject({ status: "failed", attemptCount: 1, lastError: expect.stringMatching(/result could not be recorded/), leaseUntil: null });
    expect(seen.health).toMatchObject({ consecutiveFailures: 0, lastFailureAt: null });
    expect(seen.queueSendsByStaleSender).toBe(0);
    // The holder announces the failure once it has recorded it; the stale sender adds no second event.
    await eventually(async () => (await seen.deliveryFailedEvents()) === 1);
    expect(await seen.deliveryFailedEvents()).toBe(1);
  });

  it("an attempt number is stored once: the index on (delivery_id, attempt) is unique", async () => {
    const { delivery, project } = await seedDelivery({ url: "https://unique.example.com/hook" });
    const insert = () =>
      env.DB.prepare("insert into attempts (id, project_id, delivery_id, attempt, trigger, started_at, duration_ms, request) values (?, ?, ?, 1, 'scheduled', 0, 0, '{}')")
        .bind(newId("attempt"), project.id, delivery.id)
        .run();
    await insert();
    await expect(insert()).rejects.toThrow(/UNIQUE/);
  });
});
