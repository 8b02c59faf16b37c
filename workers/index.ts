/**
 * @module Entry point: wires the API, the delivery consumer, the sweeper and the endpoint health DO.
 */
import { createApp } from "./api/app";
import { processAlerts } from "./alerts/outbox";
import { handleDeliveryBatch } from "./delivery/consumer";
import { sendFirstAttempts } from "./delivery/fast-path";
import { sweepDueDeliveries } from "./delivery/sweeper";
import { restartStalledJobs, runJobSteps } from "./jobs/runner";
import { isJobMessage, type QueueMessage } from "./queue/delivery-queue";
import { applyRetention } from "./retention/retention";

export { EndpointHealth } from "./endpoint-health-object";

const app = createApp({ sendFirstAttempts });

export default {
  fetch: app.fetch,
  // Acks and retries are explicit per message, so the invocation context is not needed. The consumer acks
  // the whole batch and claims only deliveries; a job message is a step of a bulk job.
  queue: async (batch, env, _ctx) => {
    const jobIds = batch.messages.map((message) => message.body).filter(isJobMessage).map((body) => body.jobId);
    await Promise.all([handleDeliveryBatch(batch, env), runJobSteps(env, jobIds)]);
  },
  // The sweeper, a backstop for alert emails whose DO alarm was lost, retention, and stalled bulk jobs.
  scheduled: (_controller, env, ctx) => ctx.waitUntil(Promise.all([sweepDueDeliveries(env), processAlerts(env), applyRetention(env), restartStalledJobs(env)])),
} satisfies ExportedHandler<Env, QueueMessage>;
