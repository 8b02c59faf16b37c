import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sendFirstAttempts } from "../../../workers/delivery/fast-path";
import { deliveryIdsOf } from "../../../workers/queue/delivery-queue";
import { createEndpoint, createProject, deliveryRow, eventually, fakeReceivers, seedDelivery, sendEvent } from "../helpers";

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

describe("the fast path under load", { timeout: 20_000 }, () => {
  it("first attempts of concurrent writes share one pass: one claim and one record for all of them", async () => {
    receivers.on("https://share.example.com/", () => new Response("ok"));
    const seeded = await Promise.all([1, 2, 3].map((n) => seedDelivery({ url: `https://share.example.com/${n}` })));
    const batches = vi.spyOn(env.DB, "batch");
    const taken = await Promise.all(seeded.map(({ delivery }) => sendFirstAttempts(env, [delivery.id])));
    expect(taken).toEqual([true, true, true]);
    await eventually(async () => (await Promise.all(seeded.map(({ delivery }) => deliveryRow(delivery.id)))).every((row) => row.status === "succeeded"));
    expect(receivers.requests("https://share.example.com/")).toHaveLength(3);
    expect(batches).toHaveBeenCalledTimes(2);
  });

  it("with every pass busy and another waiting, the next write's deliveries are left to the queue", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receivers.on("https://busy.example.com/", async () => (await released, new Response("ok")));
    const seeded = await Promise.all(Array.from({ length: 21 }, (_, n) => seedDelivery({ url: `https://busy.example.com/${n}` })));
    const ids = seeded.map(({ delivery }) => delivery.id);
    // Three passes of five sending, a fourth full and waiting for a slot, then one more delivery.
    const passes = [0, 5, 10, 15].map((from) => sendFirstAttempts(env, ids.slice(from, from + 5)));
    expect(await sendFirstAttempts(env, ids.slice(20))).toBe(false);
    await eventually(async () => receivers.requests("https://busy.example.com/").length === 15);
    release();
    expect(await Promise.all(passes)).toEqual([true, true, true, true]);
    await eventually(async () => (await Promise.all(ids.slice(0, 20).map(deliveryRow))).every((row) => row.status === "succeeded"));
    expect((await deliveryRow(ids[20])).status).toBe("queued");
  });
});
