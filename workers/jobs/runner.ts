/**
 * @module The bulk job runner. A request that would touch an unbounded number of rows (enable, disable,
 * delete, bulk resend) changes what it must at once and records a job in the same D1 batch; the job then
 * works one bounded chunk per step (workers/jobs/steps.ts) and hands the next step to the delivery queue as
 * a `{jobId}` message, so no statement, request or invocation grows with the number of rows. D1 is the
 * truth: a step claims the job with a lease, saves its progress only while it still holds it, and the cron
 * restarts a running job nobody has touched for `STALLED_AFTER_MS` — its message was lost, or its step died.
 * A duplicate message claims nothing while a step runs, and otherwise just does the next step. Whoever
 * records a job starts it with `enqueueJobStep` (workers/queue/) once that batch has committed.
 */
import { database } from "../db/client";
import { claimJob, releaseJob, saveStep, stalledJobs } from "../db/jobs";
import type { Job } from "../db/schema";
import { enqueueJobStep } from "../queue/delivery-queue";
import { STEPS } from "./steps";

/** Far longer than a step (a few statements and queue sends), so a live step never loses its lease. */
const STEP_LEASE_MS = 60_000;
/** Longer than a step message normally waits behind the deliveries the previous step enqueued. */
export const STALLED_AFTER_MS = 2 * 60_000;
/** Jobs one cron run restarts at most. */
const RESTARTS_PER_RUN = 100;

/** Runs the job messages of a queue batch, one step each. Never throws: a failed step is restarted by the cron. */
export async function runJobSteps(env: Env, jobIds: readonly string[]): Promise<void> {
  for (const jobId of new Set(jobIds)) {
    try {
      await runJobStep(env, jobId);
    } catch (error) {
      console.error(JSON.stringify({ msg: "job step failed; the cron will restart it", jobId, error: String(error) }));
    }
  }
}

/** One step, if nobody else holds the job; returns the job as it was claimed, or nothing. */
export async function runJobStep(env: Env, jobId: string, now = Date.now()): Promise<Job | undefined> {
  const db = database(env);
  const job = await claimJob(db, jobId, now, STEP_LEASE_MS);
  if (!job) return undefined;
  let outcome;
  try {
    outcome = await STEPS[job.kind](env, db, job, new Date(now));
  } catch (error) {
    await releaseJob(db, job);
    throw error;
  }
  // Lost the lease (a step ran past it and another took over): that one carries on.
  if (!(await saveStep(db, job, outcome, now))) return job;
  if (!outcome.finished) await enqueueJobStep(env, job.id, outcome.resumeInSeconds);
  return job;
}

/** The cron's part: a running job untouched for a while gets a message again. */
export async function restartStalledJobs(env: Env, now = Date.now()): Promise<{ restarted: number }> {
  const ids = await stalledJobs(database(env), now - STALLED_AFTER_MS, now, RESTARTS_PER_RUN);
  for (const id of ids) await enqueueJobStep(env, id);
  if (ids.length > 0) console.log(JSON.stringify({ msg: "restarted stalled jobs", count: ids.length }));
  return { restarted: ids.length };
}
