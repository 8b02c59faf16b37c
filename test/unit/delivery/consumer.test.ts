import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../../workers/index";
import { deliveryIdsOf, enqueueDeliveriesAt, type DeliveryMessage } from "../../../workers/queue/delivery-queue";
import { deliveryRow, eventually, fakeReceivers, seedDelivery, sleep } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
});
afterEach(() => receivers.restore());

let messageNumber = 0;
function batchOf(bodies: unknown[]) {
  return createMessageBatch<DeliveryMessage>(
    "ferry-deliveries",
    bodies.map((body) => ({ id: `msg-${++messageNumber}`, timestamp: new Date(), attempts: 1, body: body as DeliveryMessage })),
  );
}

/** What `getQueueResult` reports (its type is not in this compatibility date's runtime types). */
type QueueResult = {
  outcome: string;
  ackAll: boolean;
  retryBatch: { retry: boolean; delaySeconds?: number };
  explicitAcks: string[];
  retryMessages: { msgId: string; delaySeconds?: number }[];
};

/** Runs the Worker's real `queue` handler and returns what it did with each message. */
async function consume(bodies: unknown[]): Promise<QueueResult> {
  const batch = batchOf(bodies);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return (await getQueueResult(batch, ctx)) as QueueResult;
}

const acked = (result: QueueResult, count: number) =>
  result.ackAll || result.explicitAcks.length === count ? result.retryMessages.length === 0 && !result.retryBatch.retry : false;

describe("the delivery consumer", { timeout: 15_000 }, () => {
  it("a message that comes before its delivery's time sends nothing and is sent again for the rest of the wait", async () => {
    receivers.on("https://early.example.com/", () => new Response("ok"));
    const due = Date.now() + 3_000;
    const { delivery } = await seedDelivery({ url: "https://early.example.com/hook", delivery: { status: "retrying", attemptCount: 1, scheduleStep: 1, nextAttemptAt: new Date(due) } });
    const sent: { body: unknown; delaySeconds?: number }[] = [];
    const queue = env.DELIVERY_QUEUE;
    const spy = vi.spyOn(queue, "sendBatch").mockImplementation(async (messages, options) => {
      for (const message of messages) sent.push({ body: message.body, delaySeconds: message.delaySeconds ?? options?.delaySeconds });
      return undefined as never;
    });
    try {
      const result = await consume([{ deliveryId: delivery.id }]);
      expect(acked(result, 1)).toBe(true);
      expect(receivers.requests("https://early.example.com/")).toHaveLength(0);
      expect(await deliveryRow(delivery.id)).toMatchObject({ status: "retrying", attemptCount: 1 });
      // A Retry-After of 3 s is kept: the message comes back when the wait is over, not a second early.
      expect(sent).toEqual([{ body: { deliveryIds: [delivery.id] }, delaySeconds: 3 }]);
    } finally {
      spy.mockRestore();
    }
  });

  it("a batch carrying the same delivery twice sends it exactly once and acks both messages", async () => {
    receivers.on("https://dup.example.com/", () => new Response("ok"));
    const { delivery } = await seedDelivery({ url: "https://dup.example.com/hook" });
    const result = await consume([{ deliveryId: delivery.id }, { deliveryId: delivery.id }]);
    expect(acked(result, 2)).toBe(true);
    expect(receivers.requests("https://dup.example.com/")).toHaveLength(1);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "succeeded", attemptCount: 1 });
  });

  it("two batches delivering the same id at the same time send it once", async () => {
    receivers.on("https://race.example.com/", async () => {
      await sleep(200);
      return new Response("ok");
    });
    const { delivery } = await seedDelivery({ url: "https://race.example.com/hook" });
    const results = await Promise.all([consume([{ deliveryId: delivery.id }]), consume([{ deliveryId: delivery.id }])]);
    expect(results.every((r) => acked(r, 1))).toBe(true);
    expect(receivers.requests("https://race.example.com/")).toHaveLength(1);
    const attempts = await env.DB.prepare("select count(*) as n from attempts where delivery_id = ?").bind(delivery.id).first<{ n: number }>();
    expect(attempts?.n).toBe(1);
  });

  it("a stale message for a succeeded delivery sends nothing and is acked", async () => {
    receivers.on("https://stale.example.com/", () => new Response("ok"));
    const { delivery } = await seedDelivery({ url: "https://stale.example.com/hook", delivery: { status: "succeeded", attemptCount: 1 } });
    const result = await consume([{ deliveryId: delivery.id }]);
    expect(acked(result, 1)).toBe(true);
    expect(receivers.requests("https://stale.example.com/")).toHaveLength(0);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "succeeded", attemptCount: 1 });
  });

  it("a message carrying several deliveries sends each of them once", async () => {
    receivers.on("https://several.example.com/", () => new Response("ok"));
    const seeded = await Promise.all([1, 2, 3].map((i) => seedDelivery({ url: `https://several.example.com/${i}` })));
    const ids = seeded.map(({ delivery }) => delivery.id);
    const result = await consume([{ deliveryIds: [ids[0], ids[1], 42] }, { deliveryIds: [ids[1], ids[2]] }]);
    expect(acked(result, 2)).toBe(true);
    expect(receivers.requests("https://several.example.com/")).toHaveLength(3);
    expect((await Promise.all(ids.map(deliveryRow))).map((row) => row.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
  });

  it("the producer puts up to 5 deliveries due in the same second in one message, and none due past the queue's 12 h", async () => {
    const sent: { ids: string[]; delaySeconds?: number }[] = [];
    const spy = vi.spyOn(env.DELIVERY_QUEUE, "sendBatch").mockImplementation(async (messages) => {
      for (const message of messages) sent.push({ ids: deliveryIdsOf(message.body), delaySeconds: message.delaySeconds });
      return undefined as never;
    });
    try {
      const now = Date.now();
      const due = (n: number, at: number) => Array.from({ length: n }, (_, i) => ({ deliveryId: `dlv_${at}_${i}`, at }));
      expect(await enqueueDeliveriesAt(env, [...due(12, now), ...due(3, now + 9_500), ...due(1, now + 13 * 3_600_000)], now)).toBe(true);
      expect(sent.map(({ ids, delaySeconds }) => [ids.length, delaySeconds])).toEqual([
        [5, undefined],
        [5, undefined],
        [2, undefined],
        [3, 10],
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it("messages without a usable delivery id are acked, not retried forever", async () => {
    const result = await consume([{}, { deliveryId: 42 }, null, { deliveryId: "dlv_unknown" }, { deliveryIds: "dlv_not_a_list" }]);
    expect(acked(result, 5)).toBe(true);
    expect(result.outcome).toBe("ok");
  });

  it("never throws out of queue(), even when sending a delivery fails unexpectedly", async () => {
    receivers.on("https://poison.example.com/", () => new Response("ok"));
    // A secret that is not base64 makes signing throw inside the send.
    const { delivery } = await seedDelivery({
      url: "https://poison.example.com/hook",
      endpoint: { secrets: [{ value: "whsec_%%%not-base64%%%", createdAt: 0, expiresAt: null }] },
    });
    const { delivery: healthy } = await seedDelivery({ url: "https://poison.example.com/healthy" });
    const result = await consume([{ deliveryId: delivery.id }, { deliveryId: healthy.id }]);
    expect(result.outcome).toBe("ok");
    expect((await deliveryRow(healthy.id)).status).toBe("succeeded");
    expect(receivers.requests("https://poison.example.com/hook")).toHaveLength(0);
  });

  it("one slow endpoint does not hold up the others in its batch", async () => {
    let release!: () => void;
    const slowAnswered = new Promise<void>((resolve) => (release = resolve));
    receivers.on("https://slow.example.com/", async () => {
      await slowAnswered;
      return new Response("finally");
    });
    receivers.on("https://fast.example.com/", () => new Response("ok"));
    const { delivery: slow } = await seedDelivery({ url: "https://slow.example.com/hook" });
    const fast = await Promise.all([1, 2, 3].map((i) => seedDelivery({ url: `https://fast.example.com/${i}` })));

    const batch = batchOf([{ deliveryId: slow.id }, ...fast.map(({ delivery }) => ({ deliveryId: delivery.id }))]);
    const running = worker.queue(batch, env, createExecutionContext());
    await eventually(async () => {
      const rows = await Promise.all(fast.map(({ delivery }) => deliveryRow(delivery.id)));
      return rows.every((row) => row.status === "succeeded");
    });
    expect((await deliveryRow(slow.id)).status).toBe("sending");
    release();
    await running;
    expect((await deliveryRow(slow.id)).status).toBe("succeeded");
  });
});
