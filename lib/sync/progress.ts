import { and, eq, sql } from "drizzle-orm";
import { getDb, type DbOrTx } from "@/lib/db/client";
import { syncJobs } from "@/lib/db/schema";
import { SyncCancelledError } from "@/lib/changes/attempt-errors";

// Counters are added in SQL, not written from memory, because the batches of one job may be
// written by several workers. Progress stays below 100 until the job completes.

/** Adds to a running job's counters; false when the job is not running (cancelled). */
export async function addProgress(
  db: DbOrTx,
  jobId: string,
  add: { processed?: number; skipped?: number; failed?: number },
): Promise<boolean> {
  const added = (add.processed ?? 0) + (add.skipped ?? 0) + (add.failed ?? 0);
  // One statement: SET reads the old counters, so the progress adds what this call adds.
  const rows = await db
    .update(syncJobs)
    .set({
      filesProcessed: sql`${syncJobs.filesProcessed} + ${add.processed ?? 0}`,
      filesSkipped: sql`${syncJobs.filesSkipped} + ${add.skipped ?? 0}`,
      filesFailed: sql`${syncJobs.filesFailed} + ${add.failed ?? 0}`,
      progress: sql`least(99, floor(100.0 * (${syncJobs.filesProcessed} + ${syncJobs.filesSkipped} + ${syncJobs.filesFailed} + ${added}) / greatest(${syncJobs.filesTotal}, 1)))::int`,
    })
    .where(and(eq(syncJobs.id, jobId), eq(syncJobs.status, "running")))
    .returning({ id: syncJobs.id });
  return rows.length > 0;
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
