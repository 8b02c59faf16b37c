import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HEALTH_UNAVAILABLE_MAX_WAIT_MS, deliverBatch } from "../../../workers/delivery/deliver";
import { leaseMsFor } from "../../../workers/delivery/writes";
import { ConnectionLimiter } from "../../../workers/outbound/connection-limiter";
import { deliveryRow, fakeReceivers, seedDelivery } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
beforeEach(() => {
  receivers = fakeReceivers();
});
afterEach(() => {
  receivers.restore();
  vi.useRealTimers();
});

/** Longer than a single delivery's lease. */
const PAST_LEASE_MS = leaseMsFor(1, 5) + 1;

/**
 * One pass of the delivery path over the delivery at `now`, as a consumer would run it; what it threw (only
 * before a claim) is returned, as the consumer retries the batch. Moving the clock stands in for waiting out leases.
 */
async function deliverAt(id: string, now: number, deliverEnv: Env = env): Promise<{ error?: unknown }> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(now);
  try {
    await deliverBatch(deliverEnv, [id], { allowPrivateNetwork: false, connections: new ConnectionLimiter() });
    return {};
  } catch (error) {
    return { error };
  } finally {
    vi.useRealTimers();
  }
}

const attemptRows = async (id: string) =>
  (await env.DB.prepare("select attempt from attempts where delivery_id = ? order by attempt").bind(id).all<{ attempt: number }>()).results.map((r) => r.attempt);

/** The endpoint's health DO, broken: every call throws. */
const healthDown = {
  ...env,
  ENDPOINT_HEALTH: {
    idFromName: (name: string) => env.ENDPOINT_HEALTH.idFromName(name),
    get: () => ({
      admit: async () => {
        throw new Error("Durable Object reset because its code was updated.");
      },
    }),
  },
} as unknown as Env;

describe("a DO or D1 failure around a send", { timeout: 30_000 }, () => {
  it("the health DO throws: nothing is claimed, the delivery waits briefly and no attempt is used; a DO that keeps failing ends with the schedule", async () => {
    receivers.on("https://do-down.example.com/", () => new Response("ok"));
    const { delivery } = await seedDelivery({ url: "https://do-down.example.com/hook", project: { retrySchedule: [300, 3600] } });
    let now = Date.now();
    const waits: number[] = [];
    for (let passes = 1; passes <= 10; passes++) {
      expect(await deliverAt(delivery.id, now, healthDown)).toEqual({});
      const row = await deliveryRow(delivery.id);
      expect(row).toMatchObject({ attemptCount: 0, leaseUntil: null, lastError: expect.stringMatching(/^not sent: the endpoint's health state could not be read/) });
      if (row.status === "failed") break;
      expect(row.status).toBe("queued");
      waits.push(row.nextAttemptAt!.getTime() - row.updatedAt.getTime());
      now = row.nextAttemptAt!.getTime();
    }
    const row = await deliveryRow(delivery.id);
    expect(row).toMatchObject({ status: "failed", attemptCount: 0, scheduleStep: 3 });
    // Each hold used a step of the schedule, with its wait capped short rather than 5 min and 1 h.
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeLessThanOrEqual(HEALTH_UNAVAILABLE_MAX_WAIT_MS);
    expect(receivers.requests("https://do-down.example.com/")).toHaveLength(0);
    expect(await attemptRows(delivery.id)).toEqual([]);
  });

  it("the attempt row cannot be written after a send: the delivery's state still moves on, and the schedule ends", async () => {
    receivers.on("https://no-attempt-row.example.com/", () => new Response("down", { status: 500 }));
    const { delivery } = await seedDelivery({ url: "https://no-attempt-row.example.com/hook", project: { retrySchedule: [1, 1] } });
    await env.DB.prepare(`create trigger fail_attempts_${delivery.id} before insert on attempts when new.delivery_id = '${delivery.id}' begin select raise(abort, 'injected failure'); end`).run();
    let now = Date.now();
    for (let passes = 1; passes <= 10; passes++) {
      expect(await deliverAt(delivery.id, now)).toEqual({});
      const row = await deliveryRow(delivery.id);
      expect(row.leaseUntil).toBeNull();
      if (row.status === "failed") break;
      now = row.nextAttemptAt!.getTime();
    }
    expect(receivers.requests("https://no-attempt-row.example.com/")).toHaveLength(3);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "failed", attemptCount: 3, lastStatusCode: 500 });
    expect(await attemptRows(delivery.id)).toEqual([]);
  });

  it("D1 takes no write after a send, twice: the lapsed lease brings it back, each send counted; the third is recorded", async () => {
    receivers.on("https://d1-down.example.com/", () => new Response("ok"));
    const { delivery } = await seedDelivery({ url: "https://d1-down.example.com/hook", project: { retrySchedule: [1, 1, 1] } });
    const trigger = `fail_writes_${delivery.id}`;
    // Only the claim (which leaves it `sending`) gets through.
    await env.DB.prepare(`create trigger ${trigger} before update on deliveries when old.id = '${delivery.id}' and new.status <> 'sending' begin select raise(abort, 'injected failure'); end`).run();
    let now = Date.now();
    for (let sends = 1; sends <= 2; sends++) {
      expect(await deliverAt(delivery.id, now)).toEqual({});
      expect(await deliveryRow(delivery.id)).toMatchObject({ status: "sending", attemptCount: sends });
      // Its lease still holds: nothing is sent.
      expect(await deliverAt(delivery.id, now)).toEqual({});
      expect(receivers.requests("https://d1-down.example.com/")).toHaveLength(sends);
      now += PAST_LEASE_MS;
    }
    await env.DB.prepare(`drop trigger ${trigger}`).run();
    expect(await deliverAt(delivery.id, now)).toEqual({});
    expect(receivers.requests("https://d1-down.example.com/")).toHaveLength(3);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "succeeded", attemptCount: 3, scheduleStep: 3 });
    expect(await attemptRows(delivery.id)).toEqual([3]);
  });

  it("D1 never takes a write after a send: at most the schedule's attempts are sent, and it fails once D1 recovers", async () => {
    receivers.on("https://d1-never.example.com/", () => new Response("ok"));
    const { delivery } = await seedDelivery({ url: "https://d1-never.example.com/hook", project: { retrySchedule: [1] } });
    const trigger = `fail_writes_${delivery.id}`;
    await env.DB.prepare(`create trigger ${trigger} before update on deliveries when old.id = '${delivery.id}' and new.status <> 'sending' begin select raise(abort, 'injected failure'); end`).run();
    let now = Date.now();
    for (let passes = 1; passes <= 6; passes++) {
      await deliverAt(delivery.id, now);
      now += PAST_LEASE_MS;
    }
    // The schedule has two attempts: the later claims find them used and send nothing more.
    expect(receivers.requests("https://d1-never.example.com/")).toHaveLength(2);
    await env.DB.prepare(`drop trigger ${trigger}`).run();
    expect(await deliverAt(delivery.id, now)).toEqual({});
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "failed", attemptCount: 2, scheduleStep: 2, leaseUntil: null, lastError: expect.stringMatching(/result could not be recorded/) });
    expect(receivers.requests("https://d1-never.example.com/")).toHaveLength(2);
  });
});
