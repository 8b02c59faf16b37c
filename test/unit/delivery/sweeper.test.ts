import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requeueLostDeliveries, sweepDueDeliveries } from "../../../workers/delivery/sweeper";
import { ingestEvents } from "../../../workers/ingest/ingest";
import worker from "../../../workers/index";
import { deliveryRow, eventually, fakeReceivers, seedDelivery, sleep } from "../helpers";

const MINUTE = 60_000;
/** SWEEP_GRACE_SECONDS in wrangler.toml: how far out of order the queue may hand out messages. */
const GRACE = 15_000;

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
    // The sweep's heartbeat goes through the queue; when it arrives, the delivery is known lost.
    await sweepDueDeliveries(env, now);
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    expect((await deliveryRow(delivery.id)).enqueuedAt!.getTime()).toBeGreaterThanOrEqual(now);
    expect(receivers.requests("https://lost.example.com/")).toHaveLength(1);
  });

  it("tells lost from waiting by the heartbeat's send time, not by how long ago the delivery fell due", async () => {
    const now = Date.now();
    const heartbeatSentAt = now - MINUTE;
    // Due for an hour, but enqueued after the heartbeat was sent: in a queue that busy, its message is still ahead.
    const waiting = await seedDelivery({ url: "https://busy.example.com/waiting", delivery: { status: "queued", nextAttemptAt: new Date(now - 60 * MINUTE), enqueuedAt: new Date(now - 5000) } });
    // Ready before the heartbeat (by more than the tolerance) and still unclaimed when it arrived: lost.
    const lost = await seedDelivery({ url: "https://busy.example.com/lost", delivery: { status: "retrying", attemptCount: 1, nextAttemptAt: new Date(heartbeatSentAt - GRACE - 5000), enqueuedAt: new Date(heartbeatSentAt - 20 * MINUTE) } });
    const { requeued } = await requeueLostDeliveries(env, heartbeatSentAt, now);
    expect(requeued).toBe(1);
    await eventually(async () => (await deliveryRow(lost.delivery.id)).status === "succeeded");
    expect(receivers.requests("https://busy.example.com/lost")).toHaveLength(1);
    expect(receivers.requests("https://busy.example.com/waiting")).toHaveLength(0);
    expect((await deliveryRow(waiting.delivery.id)).enqueuedAt?.getTime()).toBe(waiting.delivery.enqueuedAt!.getTime());
  });

  it("after a local runtime restart, re-enqueues at once what the old queue held and what the old senders had claimed", async () => {
    const now = Date.now();
    const restarted = { ...env, LOCAL_RUNTIME_STARTED_AT: String(now - 2000) };
    const queued = await seedDelivery({ url: "https://restart.example.com/queued", delivery: { status: "queued", nextAttemptAt: new Date(now - 3000), enqueuedAt: new Date(now - 3000) } });
    // Claimed 5 s before the restart: its lease runs for another 85 s, but its sender is gone.
    const claimed = await seedDelivery({ url: "https://restart.example.com/claimed", delivery: { status: "sending", leaseUntil: new Date(now + 85_000), nextAttemptAt: new Date(now - 5000), enqueuedAt: new Date(now - 5000), updatedAt: new Date(now - 5000) } });
    // Claimed by the new runtime: in flight, left alone.
    const live = await seedDelivery({ url: "https://restart.example.com/live", delivery: { status: "sending", leaseUntil: new Date(now + 89_000), nextAttemptAt: new Date(now - 5000), enqueuedAt: new Date(now - 5000), updatedAt: new Date(now - 1000) } });
    const { requeued } = await sweepDueDeliveries(restarted, now);
    expect(requeued).toBeGreaterThanOrEqual(2);
    await eventually(async () => (await deliveryRow(queued.delivery.id)).status === "succeeded" && (await deliveryRow(claimed.delivery.id)).status === "succeeded");
    expect(receivers.requests("https://restart.example.com/queued")).toHaveLength(1);
    expect(receivers.requests("https://restart.example.com/claimed")).toHaveLength(1);
    expect((await deliveryRow(live.delivery.id)).status).toBe("sending");
  });

  it("delivers an event whose sendBatch failed at ingest, once a heartbeat sent after it has come through", async () => {
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

    // A heartbeat sent within the tolerance says nothing yet; one sent after it does.
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
