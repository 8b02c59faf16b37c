import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sweepDueDeliveries } from "../../../workers/delivery/sweeper";
import { ingestEvents } from "../../../workers/ingest/ingest";
import worker from "../../../workers/index";
import { deliveryRow, eventually, fakeReceivers, seedDelivery, sleep } from "../helpers";

const MINUTE = 60_000;
/** SWEEP_GRACE_SECONDS in wrangler.toml. */
const GRACE = 120_000;

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
});
afterEach(() => receivers.restore());

describe("the sweeper", { timeout: 15_000 }, () => {
  it("re-enqueues a due delivery whose queue message was lost, and the consumer then delivers it", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({
      url: "https://lost.example.com/hook",
      delivery: { status: "queued", nextAttemptAt: new Date(now - 10 * MINUTE), enqueuedAt: new Date(now - 10 * MINUTE) },
    });
    await sweepDueDeliveries(env, now);
    expect((await deliveryRow(delivery.id)).enqueuedAt?.getTime()).toBe(now);
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    expect(receivers.requests("https://lost.example.com/")).toHaveLength(1);
  });

  it("delivers an event whose sendBatch failed at ingest, once the grace period has passed", async () => {
    const { project } = await seedDelivery({ url: "https://send-failed.example.com/hook", delivery: { status: "succeeded" } });
    const brokenQueue = {
      ...env,
      DELIVERY_QUEUE: {
        send: async () => Promise.reject(new Error("queue unavailable")),
        sendBatch: async () => Promise.reject(new Error("queue unavailable")),
      } as unknown as Queue,
    };
    const [result] = await ingestEvents(brokenQueue, project.id, [{ eventType: "seed.created", payload: { lost: true } }]);
    const [delivery] = result.deliveries;
    expect(delivery.status).toBe("queued");
    await sleep(1500);
    expect(receivers.requests("https://send-failed.example.com/")).toHaveLength(0);

    // Within the grace period the sweeper waits for the message that might still come; after it, it acts.
    const enqueuedAt = (await deliveryRow(delivery.id)).enqueuedAt;
    await sweepDueDeliveries(env, Date.now());
    expect((await deliveryRow(delivery.id)).enqueuedAt).toEqual(enqueuedAt);
    await sweepDueDeliveries(env, Date.now() + GRACE + 1000);
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    expect(receivers.requests("https://send-failed.example.com/")).toHaveLength(1);
    expect(JSON.parse(receivers.requests("https://send-failed.example.com/")[0].body).data).toEqual({ lost: true });
  });

  it("runs from the Worker's scheduled handler (the cron)", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({
      url: "https://cron.example.com/hook",
      delivery: { status: "retrying", attemptCount: 1, scheduleStep: 1, nextAttemptAt: new Date(now - 13 * 3600_000), enqueuedAt: new Date(now - 14 * 3600_000) },
    });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: now }), env, ctx);
    await waitOnExecutionContext(ctx);
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    expect(receivers.requests("https://cron.example.com/")).toHaveLength(1);
  });

  it("recovers a send whose lease lapsed (the sender died mid-send)", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({
      url: "https://lapsed.example.com/hook",
      delivery: { status: "sending", leaseUntil: new Date(now - 1000), nextAttemptAt: new Date(now - 5 * MINUTE), enqueuedAt: new Date(now - 5 * MINUTE) },
    });
    await sweepDueDeliveries(env, now);
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    expect(receivers.requests("https://lapsed.example.com/")).toHaveLength(1);
  });

  it("leaves alone what a message is still carrying, what is not due, what is in flight and what is finished", async () => {
    const now = Date.now();
    const old = new Date(now - 10 * MINUTE);
    const cases = {
      // Due, but enqueued within the grace period: its message may still arrive.
      recentlyEnqueued: { status: "queued", nextAttemptAt: old, enqueuedAt: new Date(now - GRACE + 10_000) },
      // Due only a moment ago.
      justDue: { status: "retrying", nextAttemptAt: new Date(now - 10_000), enqueuedAt: old },
      notYetDue: { status: "retrying", nextAttemptAt: new Date(now + 10 * MINUTE), enqueuedAt: old },
      inFlight: { status: "sending", leaseUntil: new Date(now + MINUTE), nextAttemptAt: old, enqueuedAt: old },
      succeeded: { status: "succeeded", nextAttemptAt: null, enqueuedAt: old },
      failed: { status: "failed", nextAttemptAt: null, enqueuedAt: old },
      paused: { status: "paused", nextAttemptAt: old, enqueuedAt: old },
    } as const;
    const seeded = await Promise.all(
      Object.entries(cases).map(async ([name, delivery]) => [name, (await seedDelivery({ url: `https://alone.example.com/${name}`, delivery })).delivery] as const),
    );
    await sweepDueDeliveries(env, now);
    await sleep(2000);
    expect(receivers.requests("https://alone.example.com/")).toEqual([]);
    for (const [name, delivery] of seeded) {
      const row = await deliveryRow(delivery.id);
      expect(row.status, name).toBe(cases[name as keyof typeof cases].status);
      expect(row.enqueuedAt?.getTime(), name).toBe(delivery.enqueuedAt?.getTime());
    }
  });
});

describe("the sweeper keeps `paused` meaning 'its endpoint is disabled'", () => {
  it("queues again, and delivers, a delivery left paused although its endpoint is active (a race with enable)", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({
      url: "https://raced.example.com/hook",
      delivery: { status: "paused", nextAttemptAt: new Date(now - GRACE - 1000), updatedAt: new Date(now - GRACE - 1000) },
    });
    const { requeued } = await sweepDueDeliveries(env, now);
    expect(requeued).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    expect(receivers.requests("https://raced.example.com/")).toHaveLength(1);
  });

  it("leaves paused the deliveries of a disabled endpoint, and a freshly paused one", async () => {
    const now = Date.now();
    const disabled = await seedDelivery({
      url: "https://disabled.example.com/hook",
      endpoint: { status: "disabled", disabledAt: new Date(now - 3_600_000), disabledReason: "by hand" },
      delivery: { status: "paused", updatedAt: new Date(now - 3_600_000) },
    });
    const fresh = await seedDelivery({ url: "https://fresh.example.com/hook", delivery: { status: "paused", updatedAt: new Date(now - 1000) } });
    await sweepDueDeliveries(env, now);
    expect((await deliveryRow(disabled.delivery.id)).status).toBe("paused");
    expect((await deliveryRow(fresh.delivery.id)).status).toBe("paused");
  });
});
