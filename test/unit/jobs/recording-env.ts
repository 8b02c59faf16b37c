import { env } from "../helpers";

/**
 * The worker's env with a queue that only records what is sent, and a D1 that records every statement:
 * each test then works the job's steps itself, one message at a time, and counts what each step ran.
 */
export function recordingEnv() {
  const sent: unknown[] = [];
  const delays: (number | undefined)[] = [];
  const statements: string[] = [];
  const queue = {
    send: async (body: unknown, options?: QueueSendOptions) => void (sent.push(body), delays.push(options?.delaySeconds)),
    sendBatch: async (messages: { body: unknown }[]) => void sent.push(...messages.map((m) => m.body)),
  } as unknown as Queue;
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "prepare") return (query: string) => (statements.push(query), target.prepare(query));
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, DB: db, DELIVERY_QUEUE: queue } as Env, sent, delays, statements };
}
