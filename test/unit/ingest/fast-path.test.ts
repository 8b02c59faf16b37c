import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sendFirstAttempts } from "../../../workers/delivery/fast-path";
import type { FirstAttempt } from "../../../workers/ingest/dispatch";
import { deliveryIdsOf } from "../../../workers/queue/delivery-queue";
import { createEndpoint, createProject, deliveryRow, eventually, fakeReceivers, seedDeliveries, sendEvent } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
let enqueued: string[];
beforeEach(() => {
  receivers = fakeReceivers();
  enqueued = [];
  // Counted, not swallowed: what goes on the queue is still delivered by the consumer.
  const sendBatch = env.DELIVERY_QUEUE.sendBatch.bind(env.DELIVERY_QUEUE);
  vi.spyOn(env.DELIVERY_QUEUE, "sendBatch").mockImplementation(async (messages, options) => {
    for (const message of messages) enqueued.push(...deliveryIdsOf(message.body));
    return sendBatch(messages, options);
  });
});
afterEach(() => {
  receivers.restore();
  vi.restoreAllMocks();
});

const deliveryIds = (sent: Awaited<ReturnType<typeof sendEvent>>) => sent.deliveries.map((delivery) => delivery.id);

describe("first attempts after the ingest commit", { timeout: 20_000 }, () => {
  it("a write with a few deliveries sends them itself, with no queue message", async () => {
    receivers.on("https://fast.example.com/", () => new Response("ok"));
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://fast.example.com/a" });
    await createEndpoint(project.apiKey, { url: "https://fast.example.com/b" });
    const sent = await sendEvent(project.apiKey, { eventType: "order.paid", payload: { n: 1 } });
    await eventually(async () => receivers.requests("https://fast.example.com/").length === 2);
    expect(enqueued.filter((id) => deliveryIds(sent).includes(id))).toEqual([]);
  });

  it("a write with more deliveries than the fast path sends puts them all on the queue", async () => {
    receivers.on("https://many.example.com/", () => new Response("ok"));
    const project = await createProject();
    for (let i = 0; i < 6; i++) await createEndpoint(project.apiKey, { url: `https://many.example.com/${i}` });
    const sent = await sendEvent(project.apiKey, { eventType: "order.paid", payload: { n: 2 } });
    await eventually(async () => receivers.requests("https://many.example.com/").length === 6);
    expect(enqueued.filter((id) => deliveryIds(sent).includes(id)).sort()).toEqual(deliveryIds(sent).sort());
  });

  it("an endpoint whose timeout could outlast the request's time after its answer is left to the queue", async () => {
    receivers.on("https://patient.example.com/", () => new Response("ok"));
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://patient.example.com/hook", timeoutMs: 25_000 });
    const sent = await sendEvent(project.apiKey, { eventType: "order.paid", payload: { n: 3 } });
    await eventually(async () => receivers.requests("https://patient.example.com/").length === 1);
    expect(enqueued.filter((id) => deliveryIds(sent).includes(id))).toEqual(deliveryIds(sent));
  });
});

/** `count` deliveries of one event to one endpoint, as a write's first attempts. */
async function seedFirstAttempts(url: string, count: number): Promise<FirstAttempt[]> {
  const { endpoint, ids } = await seedDeliveries(count, { url });
  return ids.map((id) => ({ id, endpointId: endpoint.id }));
}

const ids = (attempts: readonly FirstAttempt[]) => attempts.map((attempt) => attempt.id);

describe("the fast path under load", { timeout: 20_000 }, () => {
  it("first attempts of concurrent writes to one endpoint share one pass: one claim and one record for all of them", async () => {
    receivers.on("https://share.example.com/", () => new Response("ok"));
    const attempts = await seedFirstAttempts("https://share.example.com/hook", 3);
    const batches = vi.spyOn(env.DB, "batch");
    const taken = attempts.map((attempt) => sendFirstAttempts(env, [attempt]));
    expect(taken.flatMap((call) => call.left)).toEqual([]);
    await Promise.all(taken.map((call) => call.sending));
    await eventually(async () => (await Promise.all(ids(attempts).map(deliveryRow))).every((row) => row.status === "succeeded"));
    expect(receivers.requests("https://share.example.com/")).toHaveLength(3);
    expect(batches).toHaveBeenCalledTimes(2);
  });

  it("with an endpoint's passes busy and another waiting, its next deliveries are left to the queue; another endpoint's are sent meanwhile", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receivers.on("https://busy.example.com/", async () => (await released, new Response("ok")));
    receivers.on("https://quick.example.com/", () => new Response("ok"));
    const busy = await seedFirstAttempts("https://busy.example.com/hook", 21);
    const quick = await seedFirstAttempts("https://quick.example.com/hook", 2);
    // Three passes of five sending, a fourth full and waiting for a slot, then one more delivery.
    const passes = [0, 5, 10, 15].map((from) => sendFirstAttempts(env, busy.slice(from, from + 5)));
    expect(passes.flatMap((call) => call.left)).toEqual([]);
    await eventually(async () => receivers.requests("https://busy.example.com/").length === 15);
    const mixed = sendFirstAttempts(env, [busy[20], ...quick]);
    expect(mixed.left).toEqual([busy[20].id]);
    await mixed.sending;
    expect((await Promise.all(ids(quick).map(deliveryRow))).map((row) => row.status)).toEqual(["succeeded", "succeeded"]);
    release();
    await Promise.all(passes.map((call) => call.sending));
    await eventually(async () => (await Promise.all(ids(busy.slice(0, 20)).map(deliveryRow))).every((row) => row.status === "succeeded"));
    expect((await deliveryRow(busy[20].id)).status).toBe("queued");
  });
});
