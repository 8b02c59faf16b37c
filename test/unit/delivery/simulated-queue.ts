/**
 * A delivery queue in simulated time for tests that cover minutes of traffic in seconds: `Date` is faked, every
 * message sent is kept with the time it becomes visible, and `drain` hands them to the real consumer in
 * batches, moving the clock to each batch's time. Claims are counted on the D1 binding: each row the claim's
 * UPDATE (lease + attempt count) returns is one claim.
 */
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { handleDeliveryBatch } from "../../../workers/delivery/consumer";
import { deliveryIdsOf, enqueueDeliveries, type QueueMessage } from "../../../workers/queue/delivery-queue";

/** `max_batch_size` in wrangler.toml: messages per consumer batch. */
const BATCH_SIZE = 10;

export function simulatedQueue(start: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(start);
  const pending: { at: number; body: QueueMessage }[] = [];
  let messages = 0;
  let claims = 0;
  const sqlOf = new WeakMap<object, string>();
  // Only the claim takes a lease and counts an attempt in one UPDATE.
  const isClaim = (sql: string | undefined) => !!sql && sql.startsWith("update deliveries set status = 'sending', attempt_count = attempt_count + 1,");
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          const statement = target.prepare(sql);
          const bind = statement.bind.bind(statement);
          statement.bind = (...values: unknown[]) => {
            const bound = bind(...values);
            sqlOf.set(bound, sql);
            return bound;
          };
          return statement;
        };
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements);
          statements.forEach((statement, i) => {
            if (isClaim(sqlOf.get(statement))) claims += results[i].results.length;
          });
          return results;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const queue = {
    async send(body: QueueMessage, options?: { delaySeconds?: number }) {
      pending.push({ at: Date.now() + (options?.delaySeconds ?? 0) * 1000, body });
    },
    async sendBatch(batch: { body: QueueMessage; delaySeconds?: number }[], options?: { delaySeconds?: number }) {
      for (const { body, delaySeconds } of batch) pending.push({ at: Date.now() + (delaySeconds ?? options?.delaySeconds ?? 0) * 1000, body });
    },
  };
  const simulatedEnv = { ...env, DB: db, DELIVERY_QUEUE: queue as unknown as Queue } as Env;

  return {
    env: simulatedEnv,
    enqueue: (deliveryIds: string[]) => enqueueDeliveries(simulatedEnv, deliveryIds),
    /** Runs the consumer until no message is left (or `until` is reached); returns the simulated time. */
    async drain(until = Infinity): Promise<number> {
      while (pending.length > 0) {
        pending.sort((a, b) => a.at - b.at);
        if (pending[0].at > until) break;
        vi.setSystemTime(Math.max(Date.now(), pending[0].at));
        const due = pending.filter((m) => m.at <= Date.now()).slice(0, BATCH_SIZE);
        for (const m of due) pending.splice(pending.indexOf(m), 1);
        messages += due.length;
        const batch = { queue: "ferry-deliveries", messages: due.map((m, i) => ({ id: `sim-${messages}-${i}`, timestamp: new Date(), attempts: 1, body: m.body, ack() {}, retry() {} })), ackAll() {}, retryAll() {} };
        await handleDeliveryBatch(batch as unknown as MessageBatch<QueueMessage>, simulatedEnv);
      }
      return Date.now();
    },
    /** Moves the clock forward (never back), as time passing with nothing in the queue. */
    advanceTo: (at: number) => vi.setSystemTime(Math.max(Date.now(), at)),
    counts: () => ({ messages, claims, waiting: pending.length, waitingDeliveries: pending.reduce((sum, m) => sum + deliveryIdsOf(m.body).length, 0) }),
    restore: () => vi.useRealTimers(),
  };
}
