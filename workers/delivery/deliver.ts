/**
 * @module The one delivery path shared by first sends, retries and resends: decide, attempt, record, schedule.
 */
import { and, eq } from "drizzle-orm";
import { retrySchedule } from "../config";
import type { Database } from "../db/client";
import { attempts, deliveries, type Delivery } from "../db/schema";
import { healthStub } from "../endpoint-health/client";
import { MAX_QUEUE_DELAY_SECONDS, enqueueDeliveries } from "../queue/delivery-queue";
import { attemptDelivery } from "./attempt";
import type { ClaimedDelivery } from "./claim";
import { nextRetry } from "./schedule";

export async function deliver(db: Database, env: Env, item: ClaimedDelivery, options: { allowPrivateNetwork: boolean }): Promise<void> {
  const { delivery, endpoint, project } = item;
  const owned = and(eq(deliveries.id, delivery.id), eq(deliveries.status, "sending"), eq(deliveries.leaseUntil, delivery.leaseUntil!));

  if (endpoint.deletedAt) {
    await db.update(deliveries).set({ status: "failed", lastError: "endpoint deleted", nextAttemptAt: null, leaseUntil: null, updatedAt: new Date() }).where(owned);
    return;
  }
  if (endpoint.status === "disabled") {
    await db.update(deliveries).set({ status: "paused", leaseUntil: null, updatedAt: new Date() }).where(owned);
    return;
  }

  const now = Date.now();
  const { attempt, outcome } = await attemptDelivery(item, { ...options, now });
  const finishedAt = new Date(now + attempt.durationMs);
  const decision = outcome.ok
    ? ({ kind: "succeeded" } as const)
    : nextRetry({ schedule: retrySchedule(env, project.retrySchedule), step: delivery.scheduleStep, now: finishedAt.getTime(), retryAfterSeconds: outcome.retryAfterSeconds });

  const next: Partial<Delivery> = {
    attemptCount: attempt.attempt,
    lastStatusCode: outcome.statusCode,
    lastError: outcome.error,
    lastAttemptAt: attempt.startedAt,
    leaseUntil: null,
    updatedAt: finishedAt,
  };
  if (decision.kind === "succeeded") Object.assign(next, { status: "succeeded", nextAttemptAt: null });
  else if (decision.kind === "exhausted") Object.assign(next, { status: "failed", nextAttemptAt: null });
  else Object.assign(next, { status: "retrying", nextAttemptAt: new Date(decision.at), scheduleStep: decision.step, enqueuedAt: finishedAt });

  await db.batch([db.insert(attempts).values(attempt), db.update(deliveries).set(next).where(owned)]);
  if (decision.kind === "retry") {
    const delaySeconds = Math.max(0, (decision.at - Date.now()) / 1000);
    if (delaySeconds <= MAX_QUEUE_DELAY_SECONDS) await enqueueDeliveries(env, [delivery.id], delaySeconds);
  }
  await healthStub(env, endpoint.id).recordOutcome({ ok: outcome.ok, statusCode: outcome.statusCode, error: outcome.error, at: finishedAt.getTime() });
}
