/**
 * @module Entry point: wires the API, the delivery consumer, the sweeper and the endpoint health DO.
 */
import { createApp } from "./api/app";
import { handleDeliveryBatch } from "./delivery/consumer";
import { sweepDueDeliveries } from "./delivery/sweeper";
import type { DeliveryMessage } from "./queue/delivery-queue";

export { EndpointHealth } from "./endpoint-health/endpoint-health";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleDeliveryBatch(batch, env),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(sweepDueDeliveries(env)),
} satisfies ExportedHandler<Env, DeliveryMessage>;
