/**
 * @module The one delivery path, shared by first sends (from ingest's fast path or the queue), retries,
 * resends and the slow lane, for a batch of deliveries at once:
 * 1. read what the batch names (one statement);
 * 2. settle what must not be sent, and ask each endpoint's health DO once for all of its deliveries;
 * 3. claim what may go in one statement, and write what was refused or held back, in the same round trip;
 * 4. send through the invocation's connections; attempts and states are recorded together as sends finish
 *    (recorder.ts), each write conditional on the lease, so a stale sender records and reports nothing;
 * 5. tell each endpoint's DO the outcomes of its sends, once.
 * It throws only before anything is claimed (the caller may try the batch again); past the claim, whatever
 * fails is logged and nothing is lost: D1 says what is due and the sweeper acts on it.
 */
import { retrySchedule } from "../config";
import { eventBody } from "../db/bodies";
import { database } from "../db/client";
import type { Endpoint } from "../db/schema";
import { healthStub, type SendAnswer } from "../endpoint-health/client";
import { WEBHOOK_CONNECTIONS, type ConnectionLimiter } from "../outbound/connection-limiter";
import { enqueueDeliveriesAt } from "../queue/delivery-queue";
import { attemptDelivery } from "./attempt";
import { applyClaims, readBatch, type ClaimedDelivery, type DueDelivery } from "./claim";
import { MAX_HOLD_MS } from "./holds";
import { AttemptRecorder, announceFailed, type FailedAnnouncement } from "./recorder";
import { nextRetry } from "./schedule";
import { changeStatement, changedIds, claimStatement, claimsOf, leaseMsFor, type DeliveryChange } from "./writes";

export type DeliverOptions = {
  allowPrivateNetwork: boolean;
  /** The invocation's outbound connections, shared by every send it makes. */
  connections: ConnectionLimiter;
  /** True when the endpoint DO's slow lane is sending, rather than the queue consumer. */
  inSlowLane?: boolean;
  /**
   * Deliveries to endpoints whose timeout is longer are put on the queue instead of being sent here: ingest's
   * fast path must be done within the time a request may keep working after its answer.
   */
  maxTimeoutMs?: number;
  /** Work to run alongside the sends, once the claim and the refusals are written. */
  afterClaim?: () => Promise<void>;
};

/** The longest wait after the endpoint's health DO could not be asked: an outage of it is brief. */
export const HEALTH_UNAVAILABLE_MAX_WAIT_MS = 60_000;

/** A change made without a claim, and what follows once D1 says it was made. */
type Unclaimed = { change: DeliveryChange; enqueueAt?: number; announce?: FailedAnnouncement };

export async function deliverBatch(env: Env, deliveryIds: readonly string[], options: DeliverOptions): Promise<void> {
  const db = database(env);
  const now = Date.now();
  const { due, early } = await readBatch(db, deliveryIds, now);
  const messages = early.map(({ id, nextAttemptAt }) => ({ deliveryId: id, at: nextAttemptAt.getTime() }));

  const unclaimed: Unclaimed[] = [];
  const permitted: DueDelivery[] = [];
  await Promise.all(
    [...groupByEndpoint(due)].map(async ([endpoint, items]) => {
      const asking: DueDelivery[] = [];
      for (const item of items) {
        const settled = settleUnsent(env, item, now);
        if (settled) unclaimed.push(settled);
        else if (options.maxTimeoutMs !== undefined && endpoint.timeoutMs > options.maxTimeoutMs) messages.push({ deliveryId: item.delivery.id, at: now });
        else asking.push(item);
      }
      if (asking.length === 0) return;
      let answers: SendAnswer[];
      try {
        answers = await healthStub(env, endpoint.id).admit({
          endpointId: endpoint.id,
          deliveryIds: asking.map((item) => item.delivery.id),
          rateLimitPerSecond: endpoint.rateLimitPerSecond,
          inSlowLane: options.inSlowLane,
        });
      } catch (error) {
        console.error(JSON.stringify({ msg: "endpoint health unavailable; deliveries held", endpointId: endpoint.id, count: asking.length, error: String(error) }));
        for (const item of asking) unclaimed.push(healthUnavailable(env, item, error, now));
        return;
      }
      asking.forEach((item, i) => {
        const answer = answers[i];
        if (answer.allow && !("pickupBy" in answer)) permitted.push(item);
        else unclaimed.push(heldBack(item, answer, now));
      });
    }),
  );

  // The claim and the refusals in one round trip; each refusal applies only to the row as read.
  const leaseMs = leaseMsFor(permitted.length, WEBHOOK_CONNECTIONS);
  const statements = [
    ...(permitted.length > 0 ? [claimStatement(env.DB, permitted.map((item) => item.delivery.id), now, leaseMs)] : []),
    ...(unclaimed.length > 0 ? [changeStatement(env.DB, unclaimed.map((step) => step.change), now)] : []),
  ];
  const results = statements.length > 0 ? await env.DB.batch(statements) : [];
  const claimed = permitted.length > 0 ? applyClaims(permitted, claimsOf(results[0]), now) : [];
  const changed = unclaimed.length > 0 ? changedIds(results[results.length - 1]) : new Set<string>();
  const announcements: FailedAnnouncement[] = [];
  for (const step of unclaimed) {
    if (!changed.has(step.change.id)) continue;
    if (step.enqueueAt !== undefined) messages.push({ deliveryId: step.change.id, at: step.enqueueAt });
    if (step.announce) announcements.push(step.announce);
  }
  await enqueueDeliveriesAt(env, messages);

  const recorder = new AttemptRecorder(env, claimed.length);
  await Promise.all([...claimed.map((item) => send(env, item, options, recorder)), options.afterClaim?.()]);
  await recorder.finished();
  await Promise.all(
    [...announcements, ...recorder.announcements].map((announcement) =>
      announceFailed(env, announcement).catch((error) => console.error(JSON.stringify({ msg: "delivery.failed not announced", deliveryId: announcement.item.delivery.id, error: String(error) }))),
    ),
  );
}

async function send(env: Env, item: ClaimedDelivery, options: DeliverOptions, recorder: AttemptRecorder): Promise<void> {
  try {
    const body = await eventBody(env, { id: item.delivery.eventId, body: item.body });
    recorder.add(item, await attemptDelivery({ ...item, body }, options));
  } catch (error) {
    // The lease lapses and the sweeper queues the delivery again; the claim counted the attempt, so this is bounded.
    console.error(JSON.stringify({ msg: "delivery failed unexpectedly", deliveryId: item.delivery.id, error: String(error) }));
    recorder.skip();
  }
}

function groupByEndpoint(items: readonly DueDelivery[]): Map<Endpoint, DueDelivery[]> {
  const byId = new Map<string, DueDelivery[]>();
  for (const item of items) {
    const group = byId.get(item.endpoint.id);
    if (group) group.push(item);
    else byId.set(item.endpoint.id, [item]);
  }
  return new Map([...byId.values()].map((group) => [group[0].endpoint, group]));
}

/** How a change made without a claim starts: it applies only to the row as read, and ends any lapsed lease. */
function unclaimedChange(item: DueDelivery, now: number, set: DeliveryChange["set"]): DeliveryChange {
  return { id: item.delivery.id, guard: { readAt: item.delivery.updatedAt }, set: { leaseUntil: null, updatedAt: new Date(now), ...set } };
}

const waitingStatus = (item: DueDelivery) => (item.delivery.attemptCount > 0 ? "retrying" : "queued");

/** What must not be sent at all: a deleted endpoint or project, a disabled endpoint, a schedule already used up. */
function settleUnsent(env: Env, item: DueDelivery, now: number): Unclaimed | null {
  const { delivery, endpoint, project } = item;
  if (endpoint.deletedAt) return { change: unclaimedChange(item, now, { status: "failed", lastError: "endpoint deleted", nextAttemptAt: null }) };
  // Its delete job is deleting the delivery; until then nothing more is sent.
  if (project.deletedAt) return { change: unclaimedChange(item, now, { status: "failed", lastError: "project deleted", nextAttemptAt: null }) };
  if (endpoint.status === "disabled") return { change: unclaimedChange(item, now, { status: "paused" }) };
  const schedule = retrySchedule(env, project.retrySchedule);
  if (delivery.scheduleStep <= schedule.length) return null;
  // The schedule's last attempt was claimed and sent, but its result was never recorded: nothing more is sent.
  // Claims past the end (any whose release D1 also refused) counted attempts never made.
  const attempts = delivery.attemptCount - (delivery.scheduleStep - schedule.length - 1);
  const lastError = "failed: the last attempt of the schedule was made but its result could not be recorded";
  return {
    change: unclaimedChange(item, now, { status: "failed", nextAttemptAt: null, lastError, attemptCount: attempts, scheduleStep: schedule.length + 1 }),
    announce: { item, attempts, lastStatusCode: delivery.lastStatusCode, lastError },
  };
}

/**
 * The DO could not be asked. Nothing is sent, so no attempt is used, but the step is (its wait capped short):
 * a DO that keeps failing ends with the schedule instead of holding the delivery forever.
 */
function healthUnavailable(env: Env, item: DueDelivery, error: unknown, now: number): Unclaimed {
  const { delivery, project } = item;
  const schedule = retrySchedule(env, project.retrySchedule);
  const lastError = `not sent: the endpoint's health state could not be read (${String(error).slice(0, 200)})`;
  const decision = nextRetry({ schedule, step: delivery.scheduleStep, now });
  const step = { scheduleStep: delivery.scheduleStep + 1, lastError };
  if (decision.kind === "exhausted") {
    return { change: unclaimedChange(item, now, { ...step, status: "failed", nextAttemptAt: null }), announce: { item, attempts: delivery.attemptCount, lastStatusCode: delivery.lastStatusCode, lastError } };
  }
  const at = Math.min(decision.at, now + HEALTH_UNAVAILABLE_MAX_WAIT_MS);
  return { change: unclaimedChange(item, now, { ...step, status: waitingStatus(item), nextAttemptAt: new Date(at), enqueuedAt: new Date(now) }), enqueueAt: at };
}

/** Refused by the DO, or handed to the endpoint's slow lane: no attempt is used. */
function heldBack(item: DueDelivery, answer: SendAnswer, now: number): Unclaimed {
  const status = waitingStatus(item);
  if (answer.allow) {
    // In the slow lane now, due at once. Until the lane's promised pickup it does not look lost to the
    // sweeper; if the lane loses it, the sweeper finds it after that.
    return { change: unclaimedChange(item, now, { status, heldAt: null, nextAttemptAt: new Date(now), enqueuedAt: new Date("pickupBy" in answer ? answer.pickupBy : now) }) };
  }
  if (answer.reason === "circuit_open") {
    // Held, with no message, until the DO releases it after a successful probe; the backstop is the sweeper.
    return { change: unclaimedChange(item, now, { status, heldAt: new Date(now), nextAttemptAt: new Date(now + MAX_HOLD_MS), enqueuedAt: new Date(now) }) };
  }
  // Over the rate limit: it comes back once, at the slot the DO reserved for it.
  return { change: unclaimedChange(item, now, { status, heldAt: null, nextAttemptAt: new Date(answer.retryAt), enqueuedAt: new Date(now) }), enqueueAt: answer.retryAt };
}
