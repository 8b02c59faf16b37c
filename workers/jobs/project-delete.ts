/**
 * @module The `project.delete` job's step: empties the deleted project's tables in the order of
 * `PROJECT_TABLES`, a few statements of at most `PROJECT_DELETE_ROWS` rows per step, with the R2 objects of
 * the rows it deletes (reusing retention's checks of which objects nothing points into any more). The job's
 * cursor names the table it is emptying; a table is done when a chunk finds fewer rows than it may delete
 * (the project is deleted, so nothing new is written to it). The last step deletes the project row, and with
 * it the job row.
 */
import { deleteBodies, hasBodyInR2, responseBodyKey } from "../db/bodies";
import type { Database } from "../db/client";
import type { StepOutcome } from "../db/jobs";
import {
  PROJECT_DELETE_ROWS,
  PROJECT_TABLES,
  deleteProjectAttemptsChunk,
  deleteProjectEventsChunk,
  deleteProjectRow,
  deleteProjectRowsChunk,
  lastSendingLease,
  type ProjectTable,
} from "../db/projects";
import type { Job } from "../db/schema";
import { unreferencedBodyObjects } from "../retention/retention";

/** Statements one step runs at most, so a step stays a few D1 calls however large the project. */
const STATEMENTS_PER_STEP = 4;

export async function projectDeleteStep(env: Env, db: Database, job: Job, now: Date): Promise<StepOutcome> {
  let table = (job.cursor as ProjectTable | null) ?? PROJECT_TABLES[0];
  let processed = 0;
  for (let statement = 0; statement < STATEMENTS_PER_STEP; statement++) {
    if (table === "attempts") {
      // A send claimed before the delete may still record its attempt and put its body in R2: wait it out.
      const lease = await lastSendingLease(db, job.projectId, now);
      if (lease) return { processed, cursor: table, finished: false, resumeInSeconds: Math.ceil((lease.getTime() - now.getTime()) / 1000) };
    }
    const deleted = await deleteChunk(env, db, job, table);
    processed += deleted;
    if (deleted === PROJECT_DELETE_ROWS) continue;
    const next = PROJECT_TABLES[PROJECT_TABLES.indexOf(table) + 1];
    if (!next) {
      await deleteProjectRow(db, job.projectId);
      return { processed, finished: true, status: "succeeded" };
    }
    table = next;
  }
  return { processed, cursor: table, finished: false };
}

/** One statement's worth of `table`, and the R2 objects of what it deleted; returns how many rows. */
async function deleteChunk(env: Env, db: Database, job: Job, table: ProjectTable): Promise<number> {
  if (table === "attempts") {
    const rows = await deleteProjectAttemptsChunk(db, job.projectId);
    await deleteBodies(env, rows.filter((row) => hasBodyInR2(row.response)).map((row) => responseBodyKey(row.id)));
    return rows.length;
  }
  if (table === "events") {
    const rows = await deleteProjectEventsChunk(db, job.projectId);
    await deleteBodies(env, await unreferencedBodyObjects(db, job.projectId, rows.map((row) => row.body)));
    return rows.length;
  }
  return deleteProjectRowsChunk(db, table, job.projectId, job.id);
}
