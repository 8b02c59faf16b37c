import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { LEASE_MS, claimDeliveries } from "../../../workers/delivery/claim";
import { deliver } from "../../../workers/delivery/deliver";
import { ConnectionLimiter } from "../../../workers/outbound/connection-limiter";
import { deliveryRow, seedDelivery } from "../helpers";

const db = database(env);
const URL = "https://claim.example.com/hook";

describe("claimDeliveries", () => {
  it("moves a due delivery to `sending` with a lease and returns it with its endpoint, project and body", async () => {
    const { delivery, endpoint, project, event } = await seedDelivery({ url: URL });
    const now = Date.now();
    const [claimed, ...more] = await claimDeliveries(db, [delivery.id], now);
    expect(more).toEqual([]);
    expect(claimed.delivery).toMatchObject({ id: delivery.id, status: "sending" });
    expect(claimed.endpoint.id).toBe(endpoint.id);
    expect(claimed.project.id).toBe(project.id);
    expect(claimed.body).toBe(event.body);
    const row = await deliveryRow(delivery.id);
    expect(row.status).toBe("sending");
    expect(row.leaseUntil?.getTime()).toBe(now + LEASE_MS);
  });

  it("two concurrent claims of one delivery: exactly one wins", async () => {
    const { delivery } = await seedDelivery({ url: URL });
    const now = Date.now();
    const results = await Promise.all([claimDeliveries(db, [delivery.id], now), claimDeliveries(db, [delivery.id], now), claimDeliveries(db, [delivery.id], now)]);
    expect(results.map((r) => r.length).sort()).toEqual([0, 0, 1]);
  });

  it("the same id twice in one call is claimed once", async () => {
    const { delivery } = await seedDelivery({ url: URL });
    expect(await claimDeliveries(db, [delivery.id, delivery.id], Date.now())).toHaveLength(1);
  });

  it("a claimed delivery cannot be claimed again while its lease runs", async () => {
    const { delivery } = await seedDelivery({ url: URL });
    const now = Date.now();
    expect(await claimDeliveries(db, [delivery.id], now)).toHaveLength(1);
    expect(await claimDeliveries(db, [delivery.id], now + LEASE_MS - 1)).toHaveLength(0);
  });

  it("a lapsed lease (a sender that died) makes it claimable again", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({ url: URL, delivery: { status: "sending", leaseUntil: new Date(now - 1000), nextAttemptAt: new Date(now - 60_000) } });
    const [claimed] = await claimDeliveries(db, [delivery.id], now);
    expect(claimed?.delivery.id).toBe(delivery.id);
    expect((await deliveryRow(delivery.id)).leaseUntil?.getTime()).toBe(now + LEASE_MS);
  });

  it("a live `sending` lease is not claimable", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({ url: URL, delivery: { status: "sending", leaseUntil: new Date(now + 30_000) } });
    expect(await claimDeliveries(db, [delivery.id], now)).toEqual([]);
    expect((await deliveryRow(delivery.id)).leaseUntil?.getTime()).toBe(now + 30_000);
  });

  it.each(["succeeded", "failed", "paused"] as const)("a %s delivery is never claimed, even when a message for it is due", async (status) => {
    const now = Date.now();
    const { delivery } = await seedDelivery({ url: URL, delivery: { status, nextAttemptAt: new Date(now - 60_000), leaseUntil: new Date(now - 60_000) } });
    expect(await claimDeliveries(db, [delivery.id], now)).toEqual([]);
    expect((await deliveryRow(delivery.id)).status).toBe(status);
  });

  it("a delivery that is not yet due is not claimed; a due retry is", async () => {
    const now = Date.now();
    const { delivery: later } = await seedDelivery({ url: URL, delivery: { status: "retrying", nextAttemptAt: new Date(now + 60_000) } });
    const { delivery: due } = await seedDelivery({ url: URL, delivery: { status: "retrying", nextAttemptAt: new Date(now - 1) } });
    const claimed = await claimDeliveries(db, [later.id, due.id], now);
    expect(claimed.map((c) => c.delivery.id)).toEqual([due.id]);
    expect((await deliveryRow(later.id)).status).toBe("retrying");
  });

  it("counts the attempt it is for; a claim that ends without a send (here: the endpoint is disabled) gives it back", async () => {
    const now = Date.now();
    const { delivery } = await seedDelivery({ url: URL, delivery: { status: "retrying", attemptCount: 2, scheduleStep: 1, nextAttemptAt: new Date(now - 1) } });
    const [claimed] = await claimDeliveries(db, [delivery.id], now);
    expect(claimed.delivery).toMatchObject({ attemptCount: 3, scheduleStep: 2 });
    expect(await deliveryRow(delivery.id)).toMatchObject({ attemptCount: 3, scheduleStep: 2 });

    await deliver(db, env, { ...claimed, endpoint: { ...claimed.endpoint, status: "disabled" } }, { allowPrivateNetwork: false, connections: new ConnectionLimiter() });
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "paused", attemptCount: 2, scheduleStep: 1, leaseUntil: null });
  });

  it("unknown ids and an empty list claim nothing", async () => {
    expect(await claimDeliveries(db, ["dlv_nope"], Date.now())).toEqual([]);
    expect(await claimDeliveries(db, [], Date.now())).toEqual([]);
  });
});
