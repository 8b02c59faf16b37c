/**
 * @module The jobs table: a bulk operation's durable state. A step claims the job with a lease (so two
 * messages for one job never work it at once), saves its progress only while it still holds that lease,
 * and the cron finds running jobs that nobody has touched for a while.
 */
import { and, eq, inArray, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { Database } from "./client";
import { newId } from "./ids";
import { jobs, type Job, type JobKind, type JobParams } from "./schema";

/** A new running job's row; insert it in the same batch as the change that starts it. */
export function newJob(projectId: string, kind: JobKind, params: JobParams, now = new Date()): Job {
  return { id: newId("job", now.getTime()), projectId, kind, params, status: "running", cursor: null, processed: 0, steps: 0, leaseUntil: null, finishedAt: null, createdAt: now, updatedAt: now };
}

export const insertJob = (db: Database, job: Job) => db.insert(jobs).values(job);

/** Inserts the job only if `condition` holds when the statement runs: the batch's change really happened. */
export const insertJobIf = (db: Database, job: Job, condition: SQL) =>
  // Every column, in the table's order: drizzle names them all in the INSERT.
  db.insert(jobs).select(
    sql`select ${job.id}, ${job.projectId}, ${job.kind}, ${JSON.stringify(job.params)}, 'running', null, 0, 0, null, null, ${job.createdAt.getTime()}, ${job.updatedAt.getTime()} where ${condition}`,
  );

export async function findJob(db: Database, projectId: string, jobId: string): Promise<Job | undefined> {
  return db.select().from(jobs).where(and(eq(jobs.projectId, projectId), eq(jobs.id, jobId))).get();
}

/** Takes the job for one step if it is running and no other step holds it. */
export async function claimJob(db: Database, jobId: string, now: number, leaseMs: number): Promise<Job | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ leaseUntil: new Date(now + leaseMs), updatedAt: new Date(now) })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "running"), or(isNull(jobs.leaseUntil), lt(jobs.leaseUntil, new Date(now)))))
    .returning();
  return row;
}

/** `resumeInSeconds`: the next step should wait that long (its job is waiting for something to end). */
export type StepOutcome = { processed: number; cursor: string | null; finished: false; resumeInSeconds?: number } | { processed: number; finished: true; status: "succeeded" | "cancelled" };

/** Records one step and lets go of the lease; false when the lease was lost (another step owns the job now). */
export async function saveStep(db: Database, job: Job, outcome: StepOutcome, now: number): Promise<boolean> {
  const at = new Date(now);
  const saved = await db
    .update(jobs)
    .set({
      processed: sql`${jobs.processed} + ${outcome.processed}`,
      steps: sql`${jobs.steps} + 1`,
      leaseUntil: null,
      updatedAt: at,
      ...(outcome.finished ? { status: outcome.status, finishedAt: at } : { cursor: outcome.cursor }),
    })
    .where(and(eq(jobs.id, job.id), eq(jobs.leaseUntil, job.leaseUntil!)))
    .returning({ id: jobs.id });
  return saved.length > 0;
}

/** Lets go of the lease after a failed step, so the cron's restart can claim it at once. */
export async function releaseJob(db: Database, job: Job): Promise<void> {
  await db.update(jobs).set({ leaseUntil: null }).where(and(eq(jobs.id, job.id), eq(jobs.leaseUntil, job.leaseUntil!)));
}

/**
 * Running jobs untouched since `before`: their step died or their next message was lost. Touched on the
 * way out, so a job waiting in a busy queue is restarted at most once per `before` interval.
 */
export async function stalledJobs(db: Database, before: number, now: number, limit: number): Promise<string[]> {
  const rows = await db
    .update(jobs)
    .set({ updatedAt: new Date(now) })
    .where(inArray(jobs.id, db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.status, "running"), lte(jobs.updatedAt, new Date(before)))).limit(limit)))
    .returning({ id: jobs.id });
  return rows.map((row) => row.id);
}
