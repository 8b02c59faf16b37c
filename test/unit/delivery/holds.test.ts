import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { deliveries } from "../../../workers/db/schema";
import { MAX_HOLD_MS } from "../../../workers/delivery/holds";
import { requeueLostDeliveries } from "../../../workers/delivery/sweeper";
import { healthStub } from "../../../workers/endpoint-health/client";
import type { EndpointHealth } from "../../../workers/endpoint-health-object";
import { env, fakeReceivers, seedDeliveries } from "../helpers";
import { simulatedQueue } from "./simulated-queue";

const SECOND = 1000;
let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanup.reverse()) undo();
  cleanup = [];
});

/** Five due deliveries to one endpoint whose circuit opens after two failures, in simulated time. */
async function heldSetup(host: string) {
  let up = false;
  const receivers = fakeReceivers();
  receivers.on(`https://${host}/`, () => (up ? new Response("ok") : new Response("down", { status: 500 })));
  cleanup.push(() => receivers.restore());
  const start = Date.now() + 10 * 60_000;
  const { endpoint, project, ids } = await seedDeliveries(5, {
    url: `https://${host}/hook`,
    project: { circuitOpenAfter: 2, disableAfter: 100, retrySchedule: [5, 5, 5, 5, 5, 5, 5, 5] },
    delivery: { nextAttemptAt: new Date(start), enqueuedAt: new Date(start) },
  });
  const queue = simulatedQueue(start);
  cleanup.push(queue.restore);
  const stub = healthStub(env, endpoint.id);
  // The DO's own sends (its releases) go to the simulated queue too.
  await runInDurableObject(stub, (instance: EndpointHealth) => void ((instance as unknown as { env: Env }).env = queue.env));
  const policy = { circuitOpenAfter: project.circuitOpenAfter, disableAfter: project.disableAfter, disableAfterSeconds: project.disableAfterSeconds };
  const failure = { ok: false, statusCode: 500, error: "HTTP 500", responseExcerpt: null, gone: false, durationMs: 10 };
  for (let i = 0; i < 2; i++) await stub.recordOutcomes(endpoint.id, [{ ...failure, at: Date.now() }], policy);
  const db = database(env);
  const rows = () => db.select().from(deliveries).where(eq(deliveries.endpointId, endpoint.id)).all();
  const alarm = () => runInDurableObject(stub, (instance: EndpointHealth) => instance.alarm());
  return { ids, start, queue, rows, alarm, receivers, setUp: () => (up = true), requests: () => receivers.requests(`https://${host}/`).length };
}

describe("deliveries behind an open circuit", () => {
  it("are held without a message, let out one probe at a time, stay held when it fails and are all released when it succeeds", { timeout: 120_000 }, async () => {
    const { ids, start, queue, rows, alarm, setUp, requests } = await heldSetup("held.example.com");
    queue.enqueue(ids);
    await queue.drain();
    let held = await rows();
    expect(held.every((row) => row.heldAt !== null && row.status === "queued" && row.attemptCount === 0)).toBe(true);
    expect(held.every((row) => row.nextAttemptAt!.getTime() === start + MAX_HOLD_MS)).toBe(true);
    expect(requests()).toBe(0);
    // Held by the DO's answer before any claim.
    expect(queue.counts()).toMatchObject({ claims: 0, waiting: 0 });

    // A stray message claims nothing while a delivery is held.
    queue.enqueue([ids[0]]);
    await queue.drain();
    expect(queue.counts().claims).toBe(0);

    // The cool-down (60 s) ends: the alarm lets one candidate out; it is the probe, and it fails.
    queue.advanceTo(start + 61 * SECOND);
    await alarm();
    expect(queue.counts().waiting).toBe(1);
    await queue.drain();
    expect(requests()).toBe(1);
    held = await rows();
    expect(held.filter((row) => row.heldAt !== null)).toHaveLength(5);
    // Nobody comes back while the doubled cool-down (120 s) runs: no alarm work, no message.
    await alarm();
    expect(queue.counts().waiting).toBe(0);

    // The next probe succeeds: the rest are released in one chunk and delivered.
    setUp();
    queue.advanceTo(Date.now() + 125 * SECOND);
    await alarm();
    await queue.drain();
    await alarm();
    await queue.drain();
    held = await rows();
    expect(held.map((row) => row.status)).toEqual(Array(5).fill("succeeded"));
    expect(held.every((row) => row.heldAt === null)).toBe(true);
    // One failed probe, one successful probe, the four released.
    expect(requests()).toBe(6);
    // One claim per send.
    expect(queue.counts().claims).toBe(6);
  });

  it("are not swept while held, and the sweeper recovers them after the longest hold if the DO never releases them", { timeout: 60_000 }, async () => {
    const { ids, start, queue, rows } = await heldSetup("held-lost.example.com");
    queue.enqueue(ids);
    await queue.drain();
    expect((await rows()).every((row) => row.heldAt !== null)).toBe(true);
    const heldAt = (await rows())[0].enqueuedAt!.getTime();
    // Half an hour of heartbeats: held rows are not lost messages.
    queue.advanceTo(start + 30 * 60_000);
    await requeueLostDeliveries(queue.env, Date.now(), Date.now());
    expect((await rows()).every((row) => row.enqueuedAt!.getTime() === heldAt)).toBe(true);
    // Past the backstop they are due again and carried by nothing: the sweeper enqueues them.
    queue.advanceTo(start + MAX_HOLD_MS + 60_000);
    await requeueLostDeliveries(queue.env, Date.now(), Date.now());
    expect((await rows()).every((row) => row.enqueuedAt!.getTime() === Date.now())).toBe(true);
    expect(queue.counts().waitingDeliveries).toBeGreaterThanOrEqual(5);
  });
});
