import { and, eq, sql } from "drizzle-orm";
import { getDb, type DbOrTx } from "@/lib/db/client";
import { syncJobs } from "@/lib/db/schema";
import type pg from "pg";
import { queryWith, type StatementParameters } from "@/lib/db/statement-parameters";
import { StaleAttemptError, SyncCancelledError } from "@/lib/changes/attempt-errors";

// Counters are added in SQL, not written from memory, because the batches of one job may be
// written by several workers. Progress stays below 100 until the job completes.

type Added = { processed?: number; skipped?: number; failed?: number };

/** The update that adds to a running job's counters. */
function updateCounters(db: DbOrTx, jobId: string, add: Added) {
  const added = (add.processed ?? 0) + (add.skipped ?? 0) + (add.failed ?? 0);
  // One statement: SET reads the old counters, so the progress adds what this call adds.
  return db
    .update(syncJobs)
    .set({
      filesProcessed: sql`${syncJobs.filesProcessed} + ${add.processed ?? 0}`,
      filesSkipped: sql`${syncJobs.filesSkipped} + ${add.skipped ?? 0}`,
      filesFailed: sql`${syncJobs.filesFailed} + ${add.failed ?? 0}`,
      progress: sql`least(99, floor(100.0 * (${syncJobs.filesProcessed} + ${syncJobs.filesSkipped} + ${syncJobs.filesFailed} + ${added}) / greatest(${syncJobs.filesTotal}, 1)))::int`,
    })
    .where(and(eq(syncJobs.id, jobId), eq(syncJobs.status, "running")));
}

/** Adds to a running job's counters; false when the job is not running (cancelled). */
export async function addProgress(db: DbOrTx, jobId: string, add: Added): Promise<boolean> {
  const rows = await updateCounters(db, jobId, add).returning({ id: syncJobs.id });
  return rows.length > 0;
}

/** The SQLSTATE of assert_sync_fence (migration 0026): the attempt's fence is no longer the source's. */
const STALE_ATTEMPT = "DC001";

/**
 * Common table expressions for one statement that writes a batch of a sync attempt: `job` adds
 * `add` to the job's counters while it runs, locking its row, then locks the source's (the lock
 * order every writer of a sync keeps) and reads its fence; `ok` holds a row when the job runs,
 * and raises (assert_sync_fence) when `attempt.fence` is no longer the source's, so the whole
 * statement rolls back. Every other write of the statement waits on `ok` (FENCE_OK), and names
 * the source, its owner and the job as FENCED does; runFenced runs the statement.
 */
export function progressUnderFenceCtes(
  p: StatementParameters,
  jobId: string,
  add: Added,
  attempt: { sourceId: string; fence: number },
): string {
  const [processed, skipped, failed] = [add.processed ?? 0, add.skipped ?? 0, add.failed ?? 0];
  const source = p.add(attempt.sourceId, "uuid");
  return `job as (
     update sync_jobs set
       files_processed = files_processed + ${p.add(processed, "int")},
       files_skipped = files_skipped + ${p.add(skipped, "int")},
       files_failed = files_failed + ${p.add(failed, "int")},
       progress = least(99, floor(100.0 * (files_processed + files_skipped + files_failed + ${p.add(processed + skipped + failed, "int")}) / greatest(files_total, 1)))::int
     where id = ${p.add(jobId, "uuid")} and status = 'running'
     returning id, (select fence from sources where id = ${source} for no key update) as fence
   ), src as (
     select id, user_id from sources where id = ${source} and exists (select 1 from job)
   ), ok as (
     select 1 from job where assert_sync_fence(fence, ${p.add(attempt.fence, "bigint")})
   )`;
}

/** The condition every write of a progressUnderFenceCtes statement waits on. */
export const FENCE_OK = "exists (select 1 from ok)";

/** The source, owner and job of a progressUnderFenceCtes statement, as SQL. */
export const FENCED = {
  source: "(select id from src)",
  owner: "(select user_id from src)",
  job: "(select id from job)",
};

/**
 * Runs a progressUnderFenceCtes statement whose `ctes` end in `select` of `columns`. Throws
 * SyncCancelledError when the job was not running (the statement wrote nothing),
 * StaleAttemptError when the attempt's fence was no longer the source's (nor did it).
 */
export async function runFenced<T extends pg.QueryResultRow>(
  ctes: string[],
  columns: string,
  p: StatementParameters,
): Promise<T> {
  let rows: (T & { running: boolean })[];
  try {
    rows = await queryWith<T & { running: boolean }>(
      `with ${ctes.join(", ")} select exists (select 1 from ok) as running, ${columns}`,
      p,
    );
  } catch (err) {
    if ((err as { code?: string }).code === STALE_ATTEMPT) throw new StaleAttemptError();
    throw err;
  }
  if (!rows[0]?.running) throw new SyncCancelledError();
  return rows[0];
}

/** Sets how many files the job will touch, counting those already done. */
export async function setTotal(jobId: string, total: number | { remaining: number }): Promise<void> {
  const value =
    typeof total === "number"
      ? sql`${total}`
      : sql`${syncJobs.filesProcessed} + ${syncJobs.filesSkipped} + ${syncJobs.filesFailed} + ${total.remaining}`;
  const progress = sql`least(99, floor(100.0 * (${syncJobs.filesProcessed} + ${syncJobs.filesSkipped} + ${syncJobs.filesFailed}) / greatest(${value}, 1)))::int`;
  await getDb().update(syncJobs).set({ filesTotal: value, progress }).where(eq(syncJobs.id, jobId));
}

export async function resetProgress(jobId: string): Promise<void> {
  await getDb()
    .update(syncJobs)
    .set({ filesTotal: 0, filesProcessed: 0, filesSkipped: 0, filesFailed: 0, progress: 0 })
    .where(eq(syncJobs.id, jobId));
}

/** Shows what the job is doing right now (a rate-limit wait, a retry), or clears it with null. */
export async function setJobDetail(jobId: string, detail: string | null): Promise<void> {
  await getDb().update(syncJobs).set({ detail }).where(eq(syncJobs.id, jobId));
}

export async function throwIfCancelled(jobId: string): Promise<void> {
  const [row] = await getDb().select({ status: syncJobs.status }).from(syncJobs).where(eq(syncJobs.id, jobId));
  if (row?.status !== "running") throw new SyncCancelledError();
}
