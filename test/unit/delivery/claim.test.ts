import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { endpoints } from "../../../workers/db/schema";
import { readBatch } from "../../../workers/delivery/claim";
import { deliverBatch } from "../../../workers/delivery/deliver";
import { claimStatement, claimsOf, leaseMsFor } from "../../../workers/delivery/writes";
import { ConnectionLimiter } from "../../../workers/outbound/connection-limiter";
import { deliveryRow, seedDelivery } from "../helpers";

const db = database(env);
const URL = "https://claim.example.com/hook";
const LEASE_MS = leaseMsFor(1, 5);
const claim = async (ids: string[], now: number) => claimsOf(await claimStatement(env.DB, ids, now, LEASE_MS).all());

describe("the claim", () => {
  it("moves a due delivery to `sending` with a lease, counting the attempt and the step it is for", async () => {
    const { delivery } = await seedDelivery({ url: URL, delivery: { status: "retrying", attemptCount: 2, scheduleStep: 1, nextAttemptAt: new Date(Date.now() - 1) } });
    const now = Date.now();
    expect(await claim([delivery.id], now)).toEqual([{ id: delivery.id, attemptCount: 3, scheduleStep: 2, leaseUntil: new Date(now + LEASE_MS) }]);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "sending", attemptCount: 3, scheduleStep: 2, leaseUntil: new Date(now + LEASE_MS) });
  });

  it("two concurrent claims of one delivery: exactly one wins", async () => {
    const { delivery } = await seedDelivery({ url: URL });
    const now = Date.now();
    const results = await Promise.all([claim([delivery.id], now), claim([delivery.id], now), claim([delivery.id], now)]);
    expect(results.map((r) => r.length).sort()).toEqual([0, 0, 1]);
  });

  it("the same id twice in one claim is claimed once", async () => {
    const { delivery } = await seedDelivery({ url: URL });
    expect(await claim([delivery.id, delivery.id], Date.now())).toHaveLength(1);
  });

  it("a claimed delivery cannot be claimed again while its lease runs; a lapsed lease makes it claimable again", async () => {
    const { delivery } = await seedDelivery({ url: URL });
    const now = Date.now();
    expect(await claim([delivery.id], now)).toHaveLength(1);
    expect(await claim([delivery.id], now + LEASE_MS - 1)).toHaveLength(0);
    expect(await claim([delivery.id], now + LEASE_MS + 1)).toHaveLength(1);
  });

  it.each(["succeeded", "failed", "paused"] as const)("a %s delivery is never claimed, even when a message for it is due", async (status) => {
    const now = Date.now();
    const { delivery } = await seedDelivery({ url: URL, delivery: { status, nextAttemptAt: new Date(now - 60_000), leaseUntil: new Date(now - 60_000) } });
    expect(await claim([delivery.id], now)).toEqual([]);
    expect((await readBatch(db, [delivery.id], now)).due).toEqual([]);
    expect((await deliveryRow(delivery.id)).status).toBe(status);
  });

  it("a claim covers any number of deliveries in one statement (past D1's 100 bound parameters)", async () => {
    const seeded = await Promise.all(Array.from({ length: 120 }, () => seedDelivery({ url: URL })));
    expect(await claim(seeded.map(({ delivery }) => delivery.id), Date.now())).toHaveLength(120);
  });

  it("unknown ids and an empty list claim nothing", async () => {
    expect(await claim(["dlv_nope"], Date.now())).toEqual([]);
    expect(await claim([], Date.now())).toEqual([]);
  });
});

describe("reading a batch", () => {
  it("due: queued or retrying and due, or `sending` with a lapsed lease; early: waiting for a time ahead; a live lease and a held delivery are neither", async () => {
    const now = Date.now();
    const { delivery: due } = await seedDelivery({ url: URL, delivery: { status: "retrying", nextAttemptAt: new Date(now - 1) } });
    const { delivery: lapsed } = await seedDelivery({ url: URL, delivery: { status: "sending", leaseUntil: new Date(now - 1000), nextAttemptAt: new Date(now - 60_000) } });
    const { delivery: later } = await seedDelivery({ url: URL, delivery: { status: "retrying", nextAttemptAt: new Date(now + 60_000) } });
    const { delivery: live } = await seedDelivery({ url: URL, delivery: { status: "sending", leaseUntil: new Date(now + 30_000) } });
    const { delivery: held } = await seedDelivery({ url: URL, delivery: { status: "queued", heldAt: new Date(now), nextAttemptAt: new Date(now + 3_600_000) } });
    const { due: dueRows, early } = await readBatch(db, [due.id, lapsed.id, later.id, live.id, held.id], now);
    expect(dueRows.map((row) => row.delivery.id).sort()).toEqual([due.id, lapsed.id].sort());
    expect(dueRows.find((row) => row.delivery.id === due.id)).toMatchObject({ endpoint: { id: due.endpointId }, project: { id: due.projectId } });
    expect(early).toEqual([{ id: later.id, nextAttemptAt: new Date(now + 60_000) }]);
  });

  it("a due delivery of a disabled endpoint is paused without being claimed: no attempt is counted", async () => {
    const { delivery, endpoint } = await seedDelivery({ url: URL, delivery: { status: "retrying", attemptCount: 2, scheduleStep: 1, nextAttemptAt: new Date(Date.now() - 1) } });
    await db.update(endpoints).set({ status: "disabled" }).where(eq(endpoints.id, endpoint.id));
    await deliverBatch(env, [delivery.id], { allowPrivateNetwork: false, connections: new ConnectionLimiter() });
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "paused", attemptCount: 2, scheduleStep: 1, leaseUntil: null });
  });
});
