import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ingestEvents, type EventInput } from "../../../workers/ingest/ingest";
import { deliveryIdsOf } from "../../../workers/queue/delivery-queue";
import { createEndpoint, createProject } from "../helpers";

/**
 * An env whose D1 and queue count what ingest asks of them. Messages are recorded, not sent, so nothing is
 * delivered. `failBatch` decides, per `batch()` call, whether it fails before or after running.
 */
function countingEnv(failBatch: (call: number, params: string) => "before" | "after" | null = () => null) {
  const counts = { batches: 0, statements: 0, sendBatches: 0, messages: 0, enqueued: 0 };
  const paramsOf = new WeakMap<D1PreparedStatement, unknown[]>();
  const DB = {
    prepare: (query: string) => {
      const statement = env.DB.prepare(query);
      const bind = statement.bind.bind(statement);
      statement.bind = (...values: unknown[]) => {
        const bound = bind(...values);
        paramsOf.set(bound, values);
        return bound;
      };
      return statement;
    },
    batch: async (statements: D1PreparedStatement[]) => {
      const call = ++counts.batches;
      counts.statements += statements.length;
      const failure = failBatch(call, JSON.stringify(statements.map((statement) => paramsOf.get(statement))));
      if (failure === "before") throw new Error("D1 is overloaded");
      const results = await env.DB.batch(statements);
      if (failure === "after") throw new Error("network connection lost");
      return results;
    },
  } as unknown as D1Database;
  const DELIVERY_QUEUE = {
    sendBatch: async (messages: { body: unknown }[]) => {
      counts.sendBatches++;
      counts.messages += messages.length;
      counts.enqueued += messages.reduce((sum, message) => sum + deliveryIdsOf(message.body).length, 0);
    },
  } as unknown as Queue;
  return { env: { ...env, DB, DELIVERY_QUEUE } as Env, counts };
}

async function projectWithEndpoint(name: string) {
  const project = await createProject(name);
  await createEndpoint(project.apiKey, { url: `https://${name}.example.com/hook` });
  return project;
}

const rowsOf = async (projectId: string) => {
  const [events, deliveries] = await env.DB.batch([
    env.DB.prepare("select count(*) as n from events where project_id = ?").bind(projectId),
    env.DB.prepare("select count(*) as n from deliveries where project_id = ?").bind(projectId),
  ]);
  return { events: (events.results[0] as { n: number }).n, deliveries: (deliveries.results[0] as { n: number }).n };
};

const event = (n: number, extra: Partial<EventInput> = {}): EventInput => ({ eventType: "order.paid", payload: { n }, ...extra });

describe("ingest shares one D1 write among concurrent callers", () => {
  it("ten concurrent requests cost one round trip, three statements (events, deliveries, their /stats counts) and one queue send of 2 messages", async () => {
    const project = await projectWithEndpoint("share-ten");
    const { env: counted, counts } = countingEnv();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ingestEvents(counted, project.id, [event(i)])));
    expect(counts).toEqual({ batches: 1, statements: 3, sendBatches: 1, messages: 2, enqueued: 10 });
    expect(results.map(([r]) => r.created)).toEqual(Array(10).fill(true));
    expect(new Set(results.map(([r]) => r.event.id)).size).toBe(10);
    expect(results.every(([r]) => r.deliveries.length === 1 && r.deliveries[0].status === "queued")).toBe(true);
    expect(await rowsOf(project.id)).toEqual({ events: 10, deliveries: 10 });
  });

  it("a batch of 100 events is three statements in one round trip", async () => {
    const project = await projectWithEndpoint("share-hundred");
    const { env: counted, counts } = countingEnv();
    const results = await ingestEvents(counted, project.id, Array.from({ length: 100 }, (_, i) => event(i)));
    expect(results).toHaveLength(100);
    expect(counts).toEqual({ batches: 1, statements: 3, sendBatches: 1, messages: 20, enqueued: 100 });
    expect(await rowsOf(project.id)).toEqual({ events: 100, deliveries: 100 });
  });

  it("idempotency keys add one read statement to the same round trip, and a key taken in the same window returns its event", async () => {
    const project = await projectWithEndpoint("share-keys");
    const { env: counted, counts } = countingEnv();
    const results = await Promise.all([
      ingestEvents(counted, project.id, [event(1, { idempotencyKey: "k-1" })]),
      ingestEvents(counted, project.id, [event(2, { idempotencyKey: "k-1" })]),
      ingestEvents(counted, project.id, [event(3)]),
    ]);
    expect(counts).toEqual({ batches: 1, statements: 4, sendBatches: 1, messages: 1, enqueued: 2 });
    const [[first], [second], [third]] = results;
    expect([first.created, second.created, third.created]).toEqual([true, false, true]);
    expect(second.event.id).toBe(first.event.id);
    expect(second.deliveries).toEqual(first.deliveries);

    // Later, the key costs the same single round trip and returns the original.
    const [again] = await ingestEvents(counted, project.id, [event(9, { idempotencyKey: "k-1" })]);
    expect(again).toMatchObject({ created: false, event: { id: first.event.id, eventType: "order.paid" } });
    expect(counts.batches).toBe(2);
    expect(await rowsOf(project.id)).toEqual({ events: 2, deliveries: 2 });
  });
});

describe("a failed shared write", () => {
  it("is written again per request, so the others are stored and answered while the failing one gets its own error", async () => {
    const good = await projectWithEndpoint("fail-good");
    const poisoned = await projectWithEndpoint("fail-poisoned");
    // Any batch carrying the poisoned project's events fails, as a statement it cannot run would.
    const { env: counted, counts } = countingEnv((_, params) => (params.includes(poisoned.id) ? "before" : null));
    const settled = await Promise.allSettled([
      ingestEvents(counted, good.id, [event(1)]),
      ingestEvents(counted, poisoned.id, [event(2)]),
      ingestEvents(counted, good.id, [event(3), event(4)]),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    // One shared attempt, then one per request.
    expect(counts.batches).toBe(4);
    expect(await rowsOf(good.id)).toEqual({ events: 3, deliveries: 3 });
    expect(await rowsOf(poisoned.id)).toEqual({ events: 0, deliveries: 0 });
    expect(counts.enqueued).toBe(3);
  });

  it("that did commit before failing is not written twice: each request is answered with its stored events", async () => {
    const project = await projectWithEndpoint("fail-after-commit");
    const { env: counted, counts } = countingEnv((call) => (call === 1 ? "after" : null));
    const results = await Promise.all([ingestEvents(counted, project.id, [event(1)]), ingestEvents(counted, project.id, [event(2, { idempotencyKey: "after-1" })])]);
    expect(counts.batches).toBe(3);
    expect(results.map(([r]) => r.created)).toEqual([true, true]);
    expect(results.every(([r]) => r.deliveries.length === 1)).toBe(true);
    expect(await rowsOf(project.id)).toEqual({ events: 2, deliveries: 2 });
  });

  it("of a single request fails that request, and stores nothing", async () => {
    const project = await projectWithEndpoint("fail-alone");
    const { env: counted, counts } = countingEnv(() => "before");
    await expect(ingestEvents(counted, project.id, [event(1)])).rejects.toThrow("D1 is overloaded");
    expect(counts).toMatchObject({ batches: 1, sendBatches: 0 });
    expect(await rowsOf(project.id)).toEqual({ events: 0, deliveries: 0 });
  });
});

