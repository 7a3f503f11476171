import { and, eq, sql } from "drizzle-orm";
import { getDb, type DbOrTx } from "@/lib/db/client";
import { sources, syncJobs } from "@/lib/db/schema";
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

/**
 * Inside a write transaction of a sync attempt: addProgress, then the attempt's fence
 * (assertFence) in the same statement, so the job's row is locked before the source's. Throws
 * SyncCancelledError when the job is not running, StaleAttemptError when `attempt.fence` is no
 * longer the source's. Returns the source's owner.
 */
export async function addProgressUnderFence(
  tx: DbOrTx,
  jobId: string,
  add: Added,
  attempt: { sourceId: string; fence: number },
): Promise<{ ownerId: string | null }> {
  const source = sql`from ${sources} where ${sources.id} = ${attempt.sourceId}`;
  const [row] = await updateCounters(tx, jobId, add).returning({
    fence: sql<number | null>`(select ${sources.fence} ${source} for no key update)`,
    ownerId: sql<string | null>`(select ${sources.userId} ${source})`,
  });
  if (!row) throw new SyncCancelledError();
  if (row.fence === null || Number(row.fence) !== attempt.fence) throw new StaleAttemptError();
  return { ownerId: row.ownerId };
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
