import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sweepDueDeliveries } from "../../../workers/delivery/sweeper";
import { deliveryRow, eventually, fakeReceivers, seedDelivery } from "../helpers";

/** SWEEP_GRACE_SECONDS in wrangler.toml. */
const GRACE = 120_000;

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
});
afterEach(() => receivers.restore());

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
