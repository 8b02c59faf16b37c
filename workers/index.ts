/**
 * @module Entry point: wires the API, the delivery consumer, the sweeper and the endpoint health DO.
 */
import { createApp } from "./api/app";
import { processAlerts } from "./alerts/outbox";
import { handleDeliveryBatch } from "./delivery/consumer";
import { sweepDueDeliveries } from "./delivery/sweeper";
import type { QueueMessage } from "./queue/delivery-queue";
import { applyRetention } from "./retention/retention";

export { EndpointHealth } from "./endpoint-health-object";

const app = createApp();

export default {
  fetch: app.fetch,
  // Acks and retries are explicit per message, so the invocation context is not needed.
  queue: (batch, env, _ctx) => handleDeliveryBatch(batch, env),
  // The sweeper, a backstop for alert emails whose DO alarm was lost, and retention.
  scheduled: (_controller, env, ctx) => ctx.waitUntil(Promise.all([sweepDueDeliveries(env), processAlerts(env), applyRetention(env)])),
} satisfies ExportedHandler<Env, QueueMessage>;
