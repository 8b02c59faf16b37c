import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { newId } from "../../../workers/db/ids";
import { deliveries } from "../../../workers/db/schema";
import { env, fakeReceivers, seedDelivery } from "../helpers";
import { simulatedQueue } from "./simulated-queue";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanup) undo();
  cleanup = [];
});

/** `count` due deliveries to one endpoint limited to `rate` per second, written straight into D1. */
async function backlog(count: number, rate: number, now: number) {
  const { delivery: first, endpoint } = await seedDelivery({ url: "https://limited.example.com/hook", endpoint: { rateLimitPerSecond: rate }, delivery: { nextAttemptAt: new Date(now), enqueuedAt: new Date(now) } });
  const ids = [first.id];
  const statements = [];
  for (let i = 1; i < count; i++) {
    const id = newId("delivery");
    ids.push(id);
    statements.push(
      env.DB.prepare(
        "insert into deliveries (id, project_id, event_id, endpoint_id, event_type, status, next_attempt_at, enqueued_at, created_at, updated_at) values (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
      ).bind(id, first.projectId, first.eventId, endpoint.id, first.eventType, now, now, now, now),
    );
  }
  for (let i = 0; i < statements.length; i += 500) await env.DB.batch(statements.slice(i, i + 500));
  return { endpoint, ids };
}

describe("a backlog behind a rate limit", () => {
  it("1,000 deliveries to an endpoint limited to 10/s go out in about 100 s of simulated time, each claimed once", { timeout: 300_000 }, async () => {
    const receivers = fakeReceivers();
    receivers.on("https://limited.example.com/", () => new Response("ok"));
    cleanup.push(() => receivers.restore());
    const start = Date.now() + 10 * 60_000;
    const { endpoint, ids } = await backlog(1000, 10, start);
    const queue = simulatedQueue(start);
    cleanup.push(queue.restore);

    queue.enqueue(ids);
    const end = await queue.drain();

    const rows = await database(env).select({ status: deliveries.status, attemptCount: deliveries.attemptCount }).from(deliveries).where(eq(deliveries.endpointId, endpoint.id)).all();
    expect(rows.filter((row) => row.status === "succeeded")).toHaveLength(1000);
    // Being held back used no attempt.
    expect(rows.every((row) => row.attemptCount === 1)).toBe(true);
    expect(receivers.requests("https://limited.example.com/")).toHaveLength(1000);
    // 10 at once, then one slot every 100 ms.
    const seconds = (end - start) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(98);
    expect(seconds).toBeLessThanOrEqual(102);
    // The DO is asked before the claim, so a refused delivery is claimed only at its own slot: one claim each.
    // Bouncing every second, as before, would have been about 1,000 claims per simulated second.
    const { claims, messages } = queue.counts();
    console.log(JSON.stringify({ msg: "rate-limited backlog", deliveries: 1000, simulatedSeconds: seconds, claims, messages }));
    expect(claims).toBe(1000);
    // The first message each, and one at its slot for each of the 990 refused.
    expect(messages).toBeLessThanOrEqual(2000);
  });
});
