/**
 * @module The one delivery path shared by first sends, retries and resends: ask the endpoint's health DO,
 * attempt, record the attempt and the delivery's next state in one D1 batch, schedule, report the outcome.
 */
import { and, eq } from "drizzle-orm";
import { retrySchedule } from "../config";
import { storedAttempt } from "../db/attempts";
import { eventBody } from "../db/bodies";
import type { Database } from "../db/client";
import { attempts, deliveries, type Delivery } from "../db/schema";
import { healthStub } from "../endpoint-health/client";
import { emitMetaEvent } from "../ingest/meta-events";
import { MAX_QUEUE_DELAY_SECONDS, enqueueDeliveries } from "../queue/delivery-queue";
import { attemptDelivery } from "./attempt";
import type { ClaimedDelivery } from "./claim";
import { MAX_HOLD_MS } from "./holds";
import { nextRetry } from "./schedule";

const RESPONSE_EXCERPT_CHARS = 500;

export type DeliverOptions = {
  allowPrivateNetwork: boolean;
  /** True when the endpoint DO's slow lane is sending, rather than the queue consumer. */
  inSlowLane?: boolean;
};

export async function deliver(db: Database, env: Env, item: ClaimedDelivery, options: DeliverOptions): Promise<void> {
  const { delivery, endpoint, project } = item;
  // Every write below is conditional on still holding this claim's lease.
  const owned = and(eq(deliveries.id, delivery.id), eq(deliveries.status, "sending"), eq(deliveries.leaseUntil, delivery.leaseUntil!));
  const release = (changes: Partial<Delivery>) => db.update(deliveries).set({ leaseUntil: null, updatedAt: new Date(), ...changes }).where(owned);

  if (endpoint.deletedAt) return void (await release({ status: "failed", lastError: "endpoint deleted", nextAttemptAt: null }));
  if (endpoint.status === "disabled") return void (await release({ status: "paused" }));

  const health = healthStub(env, endpoint.id);
  const permit = await health.beforeSend({ endpointId: endpoint.id, deliveryId: delivery.id, rateLimitPerSecond: endpoint.rateLimitPerSecond, inSlowLane: options.inSlowLane });
  const waiting = delivery.attemptCount > 0 ? "retrying" : "queued";
  if (!permit.allow && permit.reason === "circuit_open") {
    // Held, with no message, until the DO releases it after a successful probe; the backstop is the sweeper.
    const now = Date.now();
    return void (await release({ status: waiting, heldAt: new Date(now), nextAttemptAt: new Date(now + MAX_HOLD_MS), enqueuedAt: new Date(now) }));
  }
  if (!permit.allow) {
    // Over the rate limit: it comes back once, at the slot the DO reserved for it. No attempt is used.
    await release({ status: waiting, heldAt: null, nextAttemptAt: new Date(permit.retryAt), enqueuedAt: new Date() });
    await enqueueLater(env, delivery.id, permit.retryAt);
    return;
  }
  if ("pickupBy" in permit && !options.inSlowLane) {
    // Handed to the endpoint's slow lane, due now. Until the lane's promised pickup it does not look lost to
    // the sweeper; if the lane loses it, the sweeper finds it after that.
    await release({ status: waiting, heldAt: null, nextAttemptAt: new Date(), enqueuedAt: new Date(permit.pickupBy) });
    await health.sendInSlowLane(delivery.id);
    return;
  }

  const body = await eventBody(env, { id: delivery.eventId, body: item.body });
  const now = Date.now();
  const { attempt, outcome } = await attemptDelivery({ ...item, body }, { ...options, now });
  const finishedAt = new Date(now + attempt.durationMs);
  const decision = outcome.ok
    ? ({ kind: "succeeded" } as const)
    : nextRetry({ schedule: retrySchedule(env, project.retrySchedule), step: delivery.scheduleStep, now: finishedAt.getTime(), retryAfterSeconds: outcome.retryAfterSeconds });

  const next: Partial<Delivery> = {
    attemptCount: attempt.attempt,
    nextTrigger: "scheduled",
    lastStatusCode: outcome.statusCode,
    lastError: outcome.error,
    lastAttemptAt: attempt.startedAt,
    leaseUntil: null,
    heldAt: null,
    updatedAt: finishedAt,
  };
  if (decision.kind === "succeeded") Object.assign(next, { status: "succeeded", nextAttemptAt: null });
  else if (decision.kind === "exhausted") Object.assign(next, { status: "failed", nextAttemptAt: null });
  else Object.assign(next, { status: "retrying", nextAttemptAt: new Date(decision.at), scheduleStep: decision.step, enqueuedAt: finishedAt });

  await db.batch([db.insert(attempts).values(await storedAttempt(env, attempt)), db.update(deliveries).set(next).where(owned)]);
  if (decision.kind === "retry") await enqueueLater(env, delivery.id, decision.at);

  await health.recordOutcome(
    endpoint.id,
    { ...outcome, responseExcerpt: attempt.response?.body.slice(0, RESPONSE_EXCERPT_CHARS) ?? null, at: finishedAt.getTime(), durationMs: attempt.durationMs },
    { circuitOpenAfter: project.circuitOpenAfter, disableAfter: project.disableAfter, disableAfterSeconds: project.disableAfterSeconds },
  );
  if (decision.kind === "exhausted") {
    await emitMetaEvent(env, endpoint, "delivery.failed", `delivery.failed:${delivery.id}:${attempt.attempt}`, {
      deliveryId: delivery.id,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      endpointId: endpoint.id,
      attempts: attempt.attempt,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.error,
    });
  }
}

/** Waits beyond the queue's 12 h limit get no message: the sweeper enqueues them when they fall due. */
async function enqueueLater(env: Env, deliveryId: string, at: number): Promise<void> {
  // Rounded up by enqueueDeliveries: a message arriving before its slot would only be turned back.
  const delaySeconds = Math.max(0, (at - Date.now()) / 1000);
  if (delaySeconds <= MAX_QUEUE_DELAY_SECONDS) await enqueueDeliveries(env, [deliveryId], delaySeconds);
}
