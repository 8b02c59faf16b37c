/**
 * @module The one delivery path shared by first sends, retries and resends: ask the endpoint's health DO,
 * attempt, record the attempt and the delivery's next state in one D1 batch, schedule, report the outcome.
 * Only the holder of the claim's lease gets past a write: a stale sender records and reports nothing.
 */
import { and, eq, getTableColumns, sql, type SQL } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { retrySchedule } from "../config";
import { storedAttempt, type SentAttempt } from "../db/attempts";
import { eventBody } from "../db/bodies";
import type { Database } from "../db/client";
import { attempts, deliveries, type Attempt, type Delivery } from "../db/schema";
import { healthStub, type SendAnswer } from "../endpoint-health/client";
import { emitMetaEvent } from "../ingest/meta-events";
import type { ConnectionLimiter } from "../outbound/connection-limiter";
import { MAX_QUEUE_DELAY_SECONDS, enqueueDeliveries } from "../queue/delivery-queue";
import { attemptDelivery } from "./attempt";
import type { ClaimedDelivery } from "./claim";
import { MAX_HOLD_MS } from "./holds";
import { nextRetry } from "./schedule";

const RESPONSE_EXCERPT_CHARS = 500;

export type DeliverOptions = {
  allowPrivateNetwork: boolean;
  /** The invocation's outbound connections, shared by every send it makes. */
  connections: ConnectionLimiter;
  /** True when the endpoint DO's slow lane is sending, rather than the queue consumer. */
  inSlowLane?: boolean;
};

/** The longest wait after the endpoint's health DO could not be asked: an outage of it is brief. */
export const HEALTH_UNAVAILABLE_MAX_WAIT_MS = 60_000;

export async function deliver(db: Database, env: Env, item: ClaimedDelivery, options: DeliverOptions): Promise<void> {
  const { delivery, endpoint, project } = item;
  // Every write below is conditional on still holding this claim's lease, and a sender whose write matched
  // nothing has lost it: it stops there, leaving the queue, the DO and meta events to the holder.
  const owned = and(eq(deliveries.id, delivery.id), eq(deliveries.status, "sending"), eq(deliveries.leaseUntil, delivery.leaseUntil!));
  /** Ends the claim without a send, giving back the attempt and the step it counted; true while the lease was held. */
  const release = async (changes: SQLiteUpdateSetSource<typeof deliveries>) => {
    const set: SQLiteUpdateSetSource<typeof deliveries> = { leaseUntil: null, updatedAt: new Date(), attemptCount: sql`${deliveries.attemptCount} - 1`, scheduleStep: sql`${deliveries.scheduleStep} - 1`, ...changes };
    return (await db.update(deliveries).set(set).where(owned).returning({ id: deliveries.id })).length > 0;
  };
  const schedule = retrySchedule(env, project.retrySchedule);
  /** Before this claim counted its attempt (claim.ts). */
  const attemptsBefore = delivery.attemptCount - 1;
  const stepsBefore = delivery.scheduleStep - 1;
  const waiting = attemptsBefore > 0 ? "retrying" : "queued";

  if (endpoint.deletedAt) return void (await release({ status: "failed", lastError: "endpoint deleted", nextAttemptAt: null }));
  // Its delete job is deleting the delivery; until then nothing more is sent.
  if (project.deletedAt) return void (await release({ status: "failed", lastError: "project deleted", nextAttemptAt: null }));
  if (endpoint.status === "disabled") return void (await release({ status: "paused" }));
  if (stepsBefore > schedule.length) {
    // The schedule's last attempt was claimed and sent, but its result was never recorded: nothing more is sent.
    // Claims past the end (this one, and any whose release D1 also refused) counted attempts never made.
    const unsent = delivery.scheduleStep - (schedule.length + 1);
    const lastError = "failed: the last attempt of the schedule was made but its result could not be recorded";
    const settled = await release({ status: "failed", nextAttemptAt: null, lastError, attemptCount: sql`${deliveries.attemptCount} - ${unsent}`, scheduleStep: schedule.length + 1 });
    if (settled) await announceFailed(env, item, { attempts: delivery.attemptCount - unsent, lastStatusCode: delivery.lastStatusCode, lastError });
    return;
  }

  const health = healthStub(env, endpoint.id);
  let permit: SendAnswer;
  try {
    permit = await health.beforeSend({ endpointId: endpoint.id, deliveryId: delivery.id, rateLimitPerSecond: endpoint.rateLimitPerSecond, inSlowLane: options.inSlowLane });
  } catch (error) {
    // Released at once rather than left `sending` for a lease. Nothing was sent, so no attempt is used, but the
    // hold keeps the step it counted (its wait capped short): a DO that keeps failing ends with the schedule.
    console.error(JSON.stringify({ msg: "endpoint health unavailable; delivery held", deliveryId: delivery.id, error: String(error) }));
    const lastError = `not sent: the endpoint's health state could not be read (${String(error).slice(0, 200)})`;
    const decision = nextRetry({ schedule, step: stepsBefore, now: Date.now() });
    const keepStep = { scheduleStep: delivery.scheduleStep, lastError };
    if (decision.kind === "exhausted") {
      if (await release({ ...keepStep, status: "failed", nextAttemptAt: null })) await announceFailed(env, item, { attempts: attemptsBefore, lastStatusCode: delivery.lastStatusCode, lastError });
      return;
    }
    const at = Math.min(decision.at, Date.now() + HEALTH_UNAVAILABLE_MAX_WAIT_MS);
    if (await release({ ...keepStep, status: waiting, nextAttemptAt: new Date(at), enqueuedAt: new Date() })) await enqueueLater(env, delivery.id, at);
    return;
  }
  if (!permit.allow && permit.reason === "circuit_open") {
    // Held, with no message, until the DO releases it after a successful probe; the backstop is the sweeper.
    const now = Date.now();
    return void (await release({ status: waiting, heldAt: new Date(now), nextAttemptAt: new Date(now + MAX_HOLD_MS), enqueuedAt: new Date(now) }));
  }
  if (!permit.allow) {
    // Over the rate limit: it comes back once, at the slot the DO reserved for it. No attempt is used.
    if (await release({ status: waiting, heldAt: null, nextAttemptAt: new Date(permit.retryAt), enqueuedAt: new Date() })) await enqueueLater(env, delivery.id, permit.retryAt);
    return;
  }
  if ("pickupBy" in permit && !options.inSlowLane) {
    // Handed to the endpoint's slow lane, due now. Until the lane's promised pickup it does not look lost to
    // the sweeper; if the lane loses it, the sweeper finds it after that.
    if (await release({ status: waiting, heldAt: null, nextAttemptAt: new Date(), enqueuedAt: new Date(permit.pickupBy) })) await health.sendInSlowLane(delivery.id);
    return;
  }

  const body = await eventBody(env, { id: delivery.eventId, body: item.body });
  const { attempt, outcome } = await attemptDelivery({ ...item, body }, options);
  const finishedAt = new Date(attempt.startedAt.getTime() + attempt.durationMs);
  const decision = outcome.ok
    ? ({ kind: "succeeded" } as const)
    : nextRetry({ schedule, step: stepsBefore, now: finishedAt.getTime(), retryAfterSeconds: outcome.retryAfterSeconds });

  // `attempt_count` and `schedule_step` were set by the claim.
  const next: Partial<Delivery> = {
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
  else Object.assign(next, { status: "retrying", nextAttemptAt: new Date(decision.at), enqueuedAt: finishedAt });

  if (!(await record(db, env, attempt, next, owned))) return;
  if (decision.kind === "retry") await enqueueLater(env, delivery.id, decision.at);

  await health
    .recordOutcome(
      endpoint.id,
      { ...outcome, responseExcerpt: attempt.response?.body.slice(0, RESPONSE_EXCERPT_CHARS) ?? null, at: finishedAt.getTime(), durationMs: attempt.durationMs },
      { circuitOpenAfter: project.circuitOpenAfter, disableAfter: project.disableAfter, disableAfterSeconds: project.disableAfterSeconds },
    )
    // The attempt and the delivery's state are recorded; the endpoint's health misses one outcome.
    .catch((error) => console.error(JSON.stringify({ msg: "outcome not recorded in the endpoint's health", deliveryId: delivery.id, error: String(error) })));
  if (decision.kind === "exhausted") await announceFailed(env, item, { attempts: attempt.attempt, lastStatusCode: outcome.statusCode, lastError: outcome.error });
}

/**
 * The attempt row and the delivery's next state, in one D1 batch and only while the lease is held (the insert
 * selects its values `WHERE EXISTS` the delivery row this claim leased); true when they were written. If the
 * batch fails, the state is written alone: the claim counted the attempt, so the delivery moves on through its
 * schedule rather than being sent again when its lease lapses. If that fails too, the lease lapses and the
 * next claim counts another attempt, so the schedule still ends.
 */
async function record(db: Database, env: Env, attempt: SentAttempt, next: Partial<Delivery>, owned: SQL | undefined): Promise<boolean> {
  const writeState = () => db.update(deliveries).set(next).where(owned).returning({ id: deliveries.id });
  try {
    const row = await storedAttempt(env, attempt);
    const values = Object.fromEntries(
      Object.entries(getTableColumns(attempts)).map(([key, column]) => {
        const value = row[key as keyof Attempt];
        return [key, sql`${value === null || value === undefined ? null : column.mapToDriverValue(value)}`.as(column.name)];
      }),
    ) as Record<keyof Attempt, SQL.Aliased>;
    const [, updated] = await db.batch([db.insert(attempts).select(db.select(values).from(deliveries).where(owned)), writeState()]);
    return updated.length > 0;
  } catch (error) {
    console.error(JSON.stringify({ msg: "attempt not recorded; recording the delivery's state alone", deliveryId: attempt.deliveryId, error: String(error) }));
    return (await writeState()).length > 0;
  }
}

/** The schedule is used up: the project's meta endpoint hears of it. */
async function announceFailed(env: Env, { delivery, endpoint }: ClaimedDelivery, last: { attempts: number; lastStatusCode: number | null; lastError: string | null }): Promise<void> {
  await emitMetaEvent(env, endpoint, "delivery.failed", `delivery.failed:${delivery.id}:${last.attempts}`, {
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    endpointId: endpoint.id,
    ...last,
  });
}

/** Waits beyond the queue's 12 h limit get no message: the sweeper enqueues them when they fall due. */
async function enqueueLater(env: Env, deliveryId: string, at: number): Promise<void> {
  // Rounded up by enqueueDeliveries: a message arriving before its slot would only be turned back.
  const delaySeconds = Math.max(0, (at - Date.now()) / 1000);
  if (delaySeconds <= MAX_QUEUE_DELAY_SECONDS) await enqueueDeliveries(env, [deliveryId], delaySeconds);
}
