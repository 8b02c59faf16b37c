/**
 * @module Recording a batch's attempts as its sends finish. Finished sends are written together — the
 * attempts, the deliveries' next states and their `/stats` counts in one D1 batch of three statements — whenever the batch's last send
 * is done, enough have gathered, or the oldest has waited `FLUSH_AFTER_MS`; one write at a time, so those
 * finishing meanwhile go into the next. The receiver already has its webhook, so the wait costs no latency.
 * Each write is conditional on the claim's lease: a sender whose lease lapsed records and reports nothing,
 * and deletes the response body it put in R2 for an attempt that was not recorded.
 * Retries are enqueued after each write; each endpoint's DO hears its outcomes once, when the batch is done.
 */
import { retrySchedule } from "../config";
import { storedAttempt, type SentAttempt } from "../db/attempts";
import { deleteBodies, hasBodyInR2, responseBodyKey } from "../db/bodies";
import type { Attempt, Delivery } from "../db/schema";
import { healthStub } from "../endpoint-health/client";
import type { Outcome } from "../endpoint-health/policy";
import { emitMetaEvent } from "../ingest/meta-events";
import { enqueueDeliveriesAt } from "../queue/delivery-queue";
import type { AttemptOutcome } from "./attempt";
import type { ClaimedDelivery, DueDelivery } from "./claim";
import { nextRetry } from "./schedule";
import { changeStatement, changedIds, countAttemptsStatement, insertAttemptsStatement, type DeliveryChange } from "./writes";

const RESPONSE_EXCERPT_CHARS = 500;
/** How long a finished send waits for company before it is written anyway. */
const FLUSH_AFTER_MS = 250;
/** Finished sends written at once at most. */
const FLUSH_SIZE = 100;

export type FailedAnnouncement = { item: DueDelivery; attempts: number; lastStatusCode: number | null; lastError: string | null };

type Finished = { item: ClaimedDelivery; attempt: SentAttempt; outcome: AttemptOutcome; change: DeliveryChange; retryAt: number | null; exhausted: boolean };

export class AttemptRecorder {
  readonly announcements: FailedAnnouncement[] = [];
  private readonly waiting: Finished[] = [];
  private readonly outcomes = new Map<string, { item: ClaimedDelivery; outcomes: Outcome[] }>();
  private writing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `sends`: how many sends will report here, by `add` or `skip`. */
  constructor(
    private readonly env: Env,
    private sends: number,
  ) {}

  add(item: ClaimedDelivery, { attempt, outcome }: { attempt: SentAttempt; outcome: AttemptOutcome }): void {
    this.waiting.push(nextState(this.env, item, attempt, outcome));
    this.skip();
  }

  /** A send that ended without anything to record. */
  skip(): void {
    this.sends -= 1;
    this.consider();
  }

  /** Once every send has reported: waits for the last write, then tells each endpoint's DO its outcomes. */
  async finished(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(
      [...this.outcomes.values()].map(({ item: { endpoint, project, delivery }, outcomes }) =>
        healthStub(this.env, endpoint.id)
          .recordOutcomes(endpoint.id, outcomes, { circuitOpenAfter: project.circuitOpenAfter, disableAfter: project.disableAfter, disableAfterSeconds: project.disableAfterSeconds })
          // The attempts and the deliveries' states are recorded; the endpoint's health misses these outcomes.
          .catch((error) => console.error(JSON.stringify({ msg: "outcomes not recorded in the endpoint's health", endpointId: endpoint.id, deliveryId: delivery.id, count: outcomes.length, error: String(error) }))),
      ),
    );
  }

  private consider(): void {
    if (this.writing || this.waiting.length === 0) return;
    if (this.sends === 0 || this.waiting.length >= FLUSH_SIZE) return this.write();
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if (!this.writing && this.waiting.length > 0) this.write();
    }, FLUSH_AFTER_MS);
  }

  private write(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const finished = this.waiting.splice(0, FLUSH_SIZE);
    this.writing = this.record(finished).finally(() => {
      this.writing = null;
      this.consider();
    });
  }

  /**
   * The attempts, the states and their `/stats` counts in one batch. If it fails, the states are written alone: the claim counted
   * the attempts, so the deliveries move on through their schedules rather than being sent again when their
   * leases lapse. If that fails too, the leases lapse and the next claims count more attempts, so schedules still end.
   */
  private async record(finished: Finished[]): Promise<void> {
    const { env } = this;
    const now = Date.now();
    let changed: Set<string>;
    let rows: Attempt[] = [];
    try {
      rows = await Promise.all(finished.map(({ attempt }) => storedAttempt(env, attempt)));
      const [, states] = await env.DB.batch([
        insertAttemptsStatement(env.DB, rows.map((row, i) => ({ row, lease: finished[i].item.delivery.leaseUntil! }))),
        changeStatement(env.DB, finished.map(({ change }) => change), now),
        countAttemptsStatement(env.DB, rows.map((row) => row.id)),
      ]);
      changed = changedIds(states);
      await this.forgetBodies(rows.filter((row) => !changed.has(row.deliveryId)));
    } catch (error) {
      console.error(JSON.stringify({ msg: "attempts not recorded; recording the deliveries' states alone", count: finished.length, error: String(error) }));
      try {
        changed = changedIds(await changeStatement(env.DB, finished.map(({ change }) => change), now).all());
      } catch (again) {
        console.error(JSON.stringify({ msg: "delivery states not recorded; their leases will lapse", count: finished.length, error: String(again) }));
        return;
      }
      // A state written now was still under its lease, so the batch before did not commit its attempt.
      await this.forgetBodies(rows.filter((row) => changed.has(row.deliveryId)));
    }
    const retries: { deliveryId: string; at: number }[] = [];
    for (const { item, attempt, outcome, retryAt, exhausted } of finished) {
      // Not written: this sender's lease had lapsed, and whoever holds the delivery now reports on it.
      if (!changed.has(item.delivery.id)) continue;
      if (retryAt !== null) retries.push({ deliveryId: item.delivery.id, at: retryAt });
      const forEndpoint = this.outcomes.get(item.endpoint.id) ?? { item, outcomes: [] };
      forEndpoint.outcomes.push({ ...outcome, responseExcerpt: attempt.response?.body.slice(0, RESPONSE_EXCERPT_CHARS) ?? null, at: attempt.startedAt.getTime() + attempt.durationMs, durationMs: attempt.durationMs });
      this.outcomes.set(item.endpoint.id, forEndpoint);
      if (exhausted) this.announcements.push({ item, attempts: attempt.attempt, lastStatusCode: outcome.statusCode, lastError: outcome.error });
    }
    await enqueueDeliveriesAt(env, retries);
  }

  /** The R2 response bodies of attempts that were not recorded: nothing would ever point at them. */
  private async forgetBodies(unrecorded: readonly Attempt[]): Promise<void> {
    const keys = unrecorded.filter((row) => hasBodyInR2(row.response)).map((row) => responseBodyKey(row.id));
    if (keys.length === 0) return;
    await deleteBodies(this.env, keys).catch((error) => console.error(JSON.stringify({ msg: "response bodies of unrecorded attempts left in R2", count: keys.length, error: String(error) })));
  }
}

/** What the attempt makes of its delivery: succeeded, failed with the schedule used up, or retrying at its next step. */
function nextState(env: Env, item: ClaimedDelivery, attempt: SentAttempt, outcome: AttemptOutcome): Finished {
  const { delivery, project } = item;
  const finishedAt = new Date(attempt.startedAt.getTime() + attempt.durationMs);
  const decision = outcome.ok
    ? ({ kind: "succeeded" } as const)
    : // The claim counted this step already.
      nextRetry({ schedule: retrySchedule(env, project.retrySchedule), step: delivery.scheduleStep - 1, now: finishedAt.getTime(), retryAfterSeconds: outcome.retryAfterSeconds });
  // `attempt_count` and `schedule_step` were set by the claim.
  const set: Partial<Delivery> = {
    nextTrigger: "scheduled",
    lastStatusCode: outcome.statusCode,
    lastError: outcome.error,
    lastAttemptAt: attempt.startedAt,
    leaseUntil: null,
    heldAt: null,
    updatedAt: finishedAt,
  };
  if (decision.kind === "retry") Object.assign(set, { status: "retrying", nextAttemptAt: new Date(decision.at), enqueuedAt: finishedAt });
  else Object.assign(set, { status: decision.kind === "succeeded" ? "succeeded" : "failed", nextAttemptAt: null });
  return {
    item,
    attempt,
    outcome,
    change: { id: delivery.id, guard: { lease: delivery.leaseUntil! }, set },
    retryAt: decision.kind === "retry" ? decision.at : null,
    exhausted: decision.kind === "exhausted",
  };
}

/** The schedule is used up: the project's meta endpoint hears of it. */
export async function announceFailed(env: Env, { item: { delivery, endpoint }, ...last }: FailedAnnouncement): Promise<void> {
  await emitMetaEvent(env, endpoint, "delivery.failed", `delivery.failed:${delivery.id}:${last.attempts}`, {
    deliveryId: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    endpointId: endpoint.id,
    ...last,
  });
}
