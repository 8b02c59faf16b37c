/**
 * @module Bench-only entry: Ferry's own handlers and Durable Object, each given counted bindings
 * (bindings.ts), plus `GET /__bench/counts` (and `POST` to reset). `npm run bench` builds the Worker from
 * this file (requests with `x-bench-uncounted` are left out of the counts); the deployed Worker is `workers/index.ts`, untouched by any of it.
 */
import ferry, { EndpointHealth as FerryEndpointHealth } from "../../workers/index";
import type { DeliveryMessage } from "../../workers/queue/delivery-queue";
import { countedBatch, countedEnv, counts, resetCounts, uncounted } from "./bindings";

export class EndpointHealth extends FerryEndpointHealth {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, countedEnv(env));
  }
}

const COUNTS_PATH = "/__bench/counts";
const UNCOUNTED_HEADER = "x-bench-uncounted";

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === COUNTS_PATH) {
      if (request.method === "POST") resetCounts();
      return Response.json(counts);
    }
    // The bench's own setup and polling calls are marked, and what they cost is not reported.
    if (request.headers.has(UNCOUNTED_HEADER)) return uncounted.run(true, () => ferry.fetch(request, countedEnv(env), ctx));
    counts.workerRequests.fetch++;
    return ferry.fetch(request, countedEnv(env), ctx);
  },
  async queue(batch, env, ctx) {
    counts.workerRequests.queue++;
    const counted = countedBatch(batch);
    await ferry.queue(counted, countedEnv(env), ctx);
    (counted as unknown as { settleRest: () => void }).settleRest();
  },
  async scheduled(controller, env, ctx) {
    counts.workerRequests.scheduled++;
    return ferry.scheduled(controller, countedEnv(env), ctx);
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
