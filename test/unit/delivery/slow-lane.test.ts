import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { deliveries } from "../../../workers/db/schema";
import { requeueLostDeliveries } from "../../../workers/delivery/sweeper";
import { healthStub } from "../../../workers/endpoint-health/client";
import type { EndpointHealth } from "../../../workers/endpoint-health-object";
import { env, fakeReceivers, seedDeliveries } from "../helpers";
import { simulatedQueue } from "./simulated-queue";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanup.reverse()) undo();
  cleanup = [];
});

describe("the slow lane's hand-off", () => {
  it("does not look lost to the sweeper while the lane works its backlog, and is found again once the lane's promise has passed", { timeout: 60_000 }, async () => {
    const receivers = fakeReceivers();
    receivers.on("https://lane-backlog.example.com/", () => new Response("ok"));
    cleanup.push(() => receivers.restore());
    const start = Date.now() + 10 * 60_000;
    const { endpoint, ids } = await seedDeliveries(15, { url: "https://lane-backlog.example.com/hook", delivery: { nextAttemptAt: new Date(start), enqueuedAt: new Date(start) } });
    const queue = simulatedQueue(start);
    cleanup.push(queue.restore);
    const stub = healthStub(env, endpoint.id);
    await runInDurableObject(stub, (instance: EndpointHealth) => void ((instance as unknown as { env: Env }).env = queue.env));
    // Its last attempt took 6 s: from now on its sends go through its lane.
    await stub.recordOutcomes(endpoint.id, [{ ok: true, statusCode: 200, error: null, responseExcerpt: null, gone: false, at: start, durationMs: 6000 }], { circuitOpenAfter: 5, disableAfter: 20, disableAfterSeconds: 3600 });

    queue.enqueue(ids);
    await queue.drain();
    const db = database(env);
    const rows = () => db.select().from(deliveries).where(eq(deliveries.endpointId, endpoint.id)).all();
    const handedOff = await rows();
    expect(handedOff.every((row) => row.status === "queued" && row.enqueuedAt!.getTime() > start)).toBe(true);

    // A heartbeat well past the sweep grace (15 s) but before the lane's second round: nothing is lost.
    queue.advanceTo(start + 50_000);
    await requeueLostDeliveries(queue.env, Date.now(), Date.now());
    expect((await rows()).map((row) => row.enqueuedAt!.getTime()).sort()).toEqual(handedOff.map((row) => row.enqueuedAt!.getTime()).sort());
    expect(queue.counts().waiting).toBe(0);

    // Had the lane lost them (it never ran here), a heartbeat after its promise finds every one.
    queue.advanceTo(start + 120_000);
    await requeueLostDeliveries(queue.env, Date.now(), Date.now());
    expect((await rows()).every((row) => row.enqueuedAt!.getTime() === Date.now())).toBe(true);
  });
});
