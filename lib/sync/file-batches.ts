import { and, eq, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { syncJobBatches, type BatchFileEntry } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { ConnectorAuthError, ConnectorError } from "@/lib/connectors/errors";
import type { RemoteFile } from "@/lib/connectors/types";
import { batchLimits, splitIntoBatches } from "./batch-limits";
import { throwIfCancelled } from "./progress";
import type { SyncQueue } from "./sync-queue";

const POLL_MS = 200;
/** How often a waiting sync hands its pending batches to the queue again (see settleFileBatches). */
const RESEND_MS = 60_000;
/** Syncs of this process waiting for their batches, woken when one settles here. */
const waiting = new Map<string, Set<() => void>>();

/** Wakes a sync of this process that waits for `jobId`'s batches (see settleFileBatches). */
export function batchSettledHere(jobId: string): void {
  for (const wake of waiting.get(jobId) ?? []) wake();
}

/** Resolves after `ms`, or sooner when a batch of the job settles in this process. */
function pause(jobId: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const wakers = waiting.get(jobId) ?? new Set();
    waiting.set(jobId, wakers);
    const wake = () => {
      clearTimeout(timer);
      wakers.delete(wake);
      if (wakers.size === 0) waiting.delete(jobId);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    wakers.add(wake);
  });
}

export type BatchErrorKind = "auth" | "permanent" | "transient";

export function toBatchEntry(file: RemoteFile): BatchFileEntry {
  return {
    path: file.path,
    size: file.size,
    version: file.version,
    id: file.id ?? null,
    contentType: file.contentType ?? null,
    lastModified: file.lastModified?.toISOString() ?? null,
    ref: file.ref ?? null,
  };
}

export function fromBatchEntry(entry: BatchFileEntry): RemoteFile {
  return { ...entry, lastModified: entry.lastModified ? new Date(entry.lastModified) : null };
}

/**
 * Splits `changed` into process-file-batch jobs (batchLimits) numbered from `firstBatchNo`;
 * the rows and the jobs commit together. Returns the next free batch number.
 */
export async function enqueueFileBatches(
  queue: SyncQueue,
  jobId: string,
  fence: number,
  changed: RemoteFile[],
  firstBatchNo = 0,
): Promise<number> {
  await queue.ready();
  const rows = splitIntoBatches(changed, (f) => f.size).map((batch, i): typeof syncJobBatches.$inferInsert => ({
    jobId,
    fence,
    batchNo: firstBatchNo + i,
    files: batch.map(toBatchEntry),
  }));
  await withTransaction(async (tx, executor) => {
    for (let i = 0; i < rows.length; i += 100) await tx.insert(syncJobBatches).values(rows.slice(i, i + 100));
    await queue.sendFileBatches(
      jobId,
      rows.map((r) => r.batchNo!),
      executor,
    );
  });
  return firstBatchNo + rows.length;
}

/**
 * Fans changed files out to process-file-batch jobs while a listing still runs, so that the
 * batches are read and written (by this process and by other workers) as the listing goes
 * on. Files are held until more than `threshold` have come (a sync with fewer indexes them
 * itself, see end) and while the caller holds them (the deletion guard may still stop the
 * sync); then enqueued as batches (batchLimits), two batches' worth or more at a time. This
 * process works on them meanwhile, as settleFileBatches does.
 */
export class FileBatchFanOut {
  private held: RemoteFile[] = [];
  private heldBytes = 0;
  private readonly limits = batchLimits();
  private nextBatchNo = 0;
  private working: Promise<unknown> | null = null;
  private failure: unknown = null;

  constructor(
    private readonly queue: SyncQueue,
    private readonly jobId: string,
    private readonly fence: number,
    private readonly threshold: number,
    /** Runs before each enqueue (the job's total, which the batches' progress is measured against). */
    private readonly beforeEnqueue: () => Promise<void>,
  ) {}

  /** Whether any batch was enqueued: the sync then waits for its batches (settleFileBatches). */
  get fannedOut(): boolean {
    return this.nextBatchNo > 0;
  }

  /** Adds a changed file; `hold` keeps every file held (nothing may be written yet). */
  async add(file: RemoteFile, hold: boolean): Promise<void> {
    this.held.push(file);
    this.heldBytes += file.size ?? 0;
    const twoBatches = this.held.length >= 2 * this.limits.files || this.heldBytes >= 2 * this.limits.bytes;
    if (!hold && this.held.length > this.threshold && twoBatches) await this.enqueue();
  }

  /**
   * Ends the listing: the files a sync of at most `threshold` changed files indexes itself, or
   * none once the rest is enqueued and this process's work on the batches has drained the queue.
   */
  async end(): Promise<RemoteFile[]> {
    if (!this.fannedOut && this.held.length <= this.threshold) return this.held;
    if (this.held.length > 0) await this.enqueue();
    await this.working;
    if (this.failure) throw this.failure;
    return [];
  }

  private async enqueue(): Promise<void> {
    const files = this.held;
    this.held = [];
    this.heldBytes = 0;
    await this.beforeEnqueue();
    this.nextBatchNo = await enqueueFileBatches(this.queue, this.jobId, this.fence, files, this.nextBatchNo);
    this.working ??= this.queue
      .workFileBatches()
      .catch((err) => (this.failure ??= err))
      .finally(() => (this.working = null));
  }
}

/**
 * Waits until no batch of the job is pending. With `throwOnFailure`, a failed batch fails the
 * sync as its error did (a credential error marks the source for reconnection; a transient
 * one lets pg-boss retry the sync, which skips what the batches finished). With `clear`, the
 * settled batches of an earlier attempt are removed. With `workWhileWaiting`, this process runs
 * waiting batches itself instead of idling.
 */
export async function settleFileBatches(
  queue: SyncQueue,
  jobId: string,
  options: { throwOnFailure?: boolean; clear?: boolean; workWhileWaiting?: boolean } = {},
): Promise<void> {
  const db = getDb();
  let lastSent = Date.now();
  for (;;) {
    const [counts] = await db
      .select({
        pending: sql<number>`count(*) filter (where ${syncJobBatches.status} = 'pending')`.mapWith(Number),
        failed: sql<number>`count(*) filter (where ${syncJobBatches.status} = 'failed')`.mapWith(Number),
      })
      .from(syncJobBatches)
      .where(eq(syncJobBatches.jobId, jobId));
    if (counts!.pending === 0) break;
    if (options.throwOnFailure) await throwIfCancelled(jobId);
    // A batch whose queue job was lost (its last attempt killed with the worker) would be
    // waited for forever: hand the pending ones to the queue again now and then. The stately
    // queue keeps a running one from being doubled, and a settled batch does nothing.
    if (Date.now() - lastSent > RESEND_MS) {
      const pending = await db
        .select({ batchNo: syncJobBatches.batchNo })
        .from(syncJobBatches)
        .where(and(eq(syncJobBatches.jobId, jobId), eq(syncJobBatches.status, "pending")));
      await queue.sendFileBatches(
        jobId,
        pending.map((p) => p.batchNo),
      );
      lastSent = Date.now();
    }
    // Rather than idle, the waiting worker takes batches itself; other workers take the rest,
    // and those of this process wake it when they are done.
    if (!(options.workWhileWaiting && (await queue.workFileBatches()))) await pause(jobId, POLL_MS);
  }
  if (options.throwOnFailure) {
    const [failed] = await db
      .select({ kind: syncJobBatches.errorKind, message: syncJobBatches.errorMessage })
      .from(syncJobBatches)
      .where(and(eq(syncJobBatches.jobId, jobId), eq(syncJobBatches.status, "failed")))
      .limit(1);
    if (failed) {
      const message = failed.message ?? "A batch of files failed.";
      if (failed.kind === "auth") throw new ConnectorAuthError(message);
      if (failed.kind === "permanent") throw new ConnectorError(message);
      throw new Error(message);
    }
  }
  if (options.clear) await db.delete(syncJobBatches).where(eq(syncJobBatches.jobId, jobId));
}

export function batchErrorKind(err: unknown): BatchErrorKind {
  if (err instanceof ConnectorAuthError) return "auth";
  if (err instanceof ConnectorError && !err.retryable) return "permanent";
  return "transient";
}
