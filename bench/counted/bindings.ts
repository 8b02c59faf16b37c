/**
 * @module Bench-only: Ferry's bindings wrapped so that every operation it asks of Cloudflare is counted
 * exactly — D1 round trips and statements (reads and writes apart, rows from D1's own `meta`), Durable Object
 * requests, queue operations and outbound fetches. Nothing here is in the deployed Worker.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export type Counts = {
  /** Fetch and queue invocations of the Worker (what Workers bills as requests). */
  workerRequests: { fetch: number; queue: number; scheduled: number };
  d1: { roundTrips: number; statements: number; readStatements: number; writeStatements: number; rowsRead: number; rowsWritten: number };
  /** RPC calls and fetches on a Durable Object stub: each is one billed DO request. */
  doRequests: number;
  /** Messages written, read (handed to the consumer), retried, and acked (deleted). */
  queue: { sendCalls: number; written: number; read: number; retried: number; acked: number };
  outboundFetches: number;
};

export const counts: Counts = fresh();
/** Where the bench's own API calls (setup, polling GET /stats) count: nowhere that is reported. */
const uncountedSink: Counts = fresh();
/** Set while the Worker serves a request the bench marked `x-bench-uncounted`. */
export const uncounted = new AsyncLocalStorage<true>();
const sink = (): Counts => (uncounted.getStore() ? uncountedSink : counts);

function fresh(): Counts {
  return {
    workerRequests: { fetch: 0, queue: 0, scheduled: 0 },
    d1: { roundTrips: 0, statements: 0, readStatements: 0, writeStatements: 0, rowsRead: 0, rowsWritten: 0 },
    doRequests: 0,
    queue: { sendCalls: 0, written: 0, read: 0, retried: 0, acked: 0 },
    outboundFetches: 0,
  };
}

export function resetCounts(): void {
  Object.assign(counts, fresh());
}

const WRITE_SQL = /^\s*(insert|update|delete|replace|create|drop|alter)\b/i;

function tallyStatement(sql: string, result: D1Result | undefined) {
  sink().d1.statements++;
  if (WRITE_SQL.test(sql)) sink().d1.writeStatements++;
  else sink().d1.readStatements++;
  sink().d1.rowsRead += result?.meta?.rows_read ?? 0;
  sink().d1.rowsWritten += result?.meta?.rows_written ?? 0;
}

/** The SQL of every statement handed out, so a batch can tell reads from writes. */
const sqlOf = new WeakMap<D1PreparedStatement, string>();

function countedStatement(statement: D1PreparedStatement, sql: string): D1PreparedStatement {
  sqlOf.set(statement, sql);
  const bind = statement.bind.bind(statement);
  const run = statement.run.bind(statement);
  const all = statement.all.bind(statement);
  const raw = statement.raw.bind(statement);
  const first = statement.first.bind(statement);
  return Object.assign(statement, {
    bind: (...values: unknown[]) => countedStatement(bind(...values), sql),
    run: async () => one(sql, await run()),
    all: async () => one(sql, await all()),
    // raw() and first() report no meta; they are rare in Ferry and counted as statements with 0 rows.
    raw: async (options?: { columnNames?: boolean }) => {
      sink().d1.roundTrips++;
      tallyStatement(sql, undefined);
      return raw(options as { columnNames: true });
    },
    first: async (column?: string) => {
      sink().d1.roundTrips++;
      tallyStatement(sql, undefined);
      return column === undefined ? first() : first(column);
    },
  }) as D1PreparedStatement;
}

function one<T extends D1Result>(sql: string, result: T): T {
  sink().d1.roundTrips++;
  tallyStatement(sql, result);
  return result;
}

function countedD1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => countedStatement(target.prepare(sql), sql);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          sink().d1.roundTrips++;
          const results = await target.batch(statements);
          statements.forEach((statement, i) => tallyStatement(sqlOf.get(statement) ?? "", results[i]));
          return results;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function countedStub<T extends object>(stub: T): T {
  return new Proxy(stub, {
    get(target, prop) {
      // A stub is not a thenable; keep it so, or `await`ing a stub would call the DO.
      if (prop === "then") return undefined;
      const value = Reflect.get(target, prop);
      if (typeof value !== "function" || prop === "id" || prop === "name") return value;
      return (...args: unknown[]) => {
        sink().doRequests++;
        // Reflect.apply: `.apply` on an RPC stub's method would be a remote call named `apply`.
        return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
      };
    },
  });
}

function countedNamespace<N extends object>(namespace: N): N {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "get" || prop === "getByName") return (...args: unknown[]) => countedStub(Reflect.apply(value as (...a: unknown[]) => object, target, args));
      return value.bind(target);
    },
  });
}

function countedQueue(queue: Queue): Queue {
  return {
    send: async (body: unknown, options?: QueueSendOptions) => {
      sink().queue.sendCalls++;
      sink().queue.written++;
      return queue.send(body, options);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      sink().queue.sendCalls++;
      sink().queue.written += list.length;
      return queue.sendBatch(list, options);
    },
  } as Queue;
}

/** Each messages' first ack or retry counts; an unsettled message is acked when the handler returns. */
export function countedBatch<B>(batch: MessageBatch<B>): MessageBatch<B> {
  sink().queue.read += batch.messages.length;
  const settled = new Set<string>();
  const settle = (id: string, how: "acked" | "retried") => {
    if (settled.has(id)) return;
    settled.add(id);
    sink().queue[how]++;
  };
  // Plain objects: a native message's fields are getters that cannot be overridden in place.
  const messages = batch.messages.map(
    (message): Message<B> => ({
      id: message.id,
      body: message.body,
      attempts: message.attempts,
      timestamp: message.timestamp,
      ack: () => (settle(message.id, "acked"), message.ack()),
      retry: (options?: QueueRetryOptions) => (settle(message.id, "retried"), message.retry(options)),
    }),
  );
  return {
    queue: batch.queue,
    messages,
    ackAll: () => (messages.forEach((m) => settle(m.id, "acked")), batch.ackAll()),
    retryAll: (options?: QueueRetryOptions) => (messages.forEach((m) => settle(m.id, "retried")), batch.retryAll(options)),
    settleRest: () => messages.forEach((m) => settle(m.id, "acked")),
  } as unknown as MessageBatch<B>;
}

// Per binding, not per env: ingest shares a write among requests that use the same binding objects.
const wrapped = new WeakMap<object, object>();

function once<T extends object>(binding: T, wrap: (binding: T) => T): T {
  let counted = wrapped.get(binding) as T | undefined;
  if (!counted) wrapped.set(binding, (counted = wrap(binding)));
  return counted;
}

/** Cached per env too, as Ferry caches its parsed config per env object. */
export function countedEnv(env: Env): Env {
  return once(env, () => ({
    ...env,
    DB: once(env.DB, countedD1),
    DELIVERY_QUEUE: once(env.DELIVERY_QUEUE, countedQueue),
    ENDPOINT_HEALTH: once(env.ENDPOINT_HEALTH, countedNamespace),
  }));
}

const realFetch = globalThis.fetch;
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  sink().outboundFetches++;
  return realFetch(...args);
}) as typeof fetch;
