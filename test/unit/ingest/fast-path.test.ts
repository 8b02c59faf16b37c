import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deliveryIdsOf } from "../../../workers/queue/delivery-queue";
import { createEndpoint, createProject, eventually, fakeReceivers, sendEvent } from "../helpers";

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
