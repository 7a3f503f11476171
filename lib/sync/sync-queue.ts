import type { SqlExecutor } from "@/lib/db/transaction";

/** The queue's delivery count of the job being run: the last attempt records what it cannot retry. */
export type AttemptInfo = { retryCount: number; retryLimit: number };

/**
 * What the sync engine needs from the job queue. The queue layer hands it in (lib/queue/sync-queue.ts),
 * so the engine knows no queue.
 */
export type SyncQueue = {
  /** Starts the queue; called before opening a transaction that sends, which must not wait on it. */
  ready(): Promise<void>;
  /** Queues the process-file-batch jobs of a sync's batches, in `executor`'s transaction when given. */
  sendFileBatches(jobId: string, batchNos: number[], executor?: SqlExecutor): Promise<void>;
  /**
   * Runs waiting process-file-batch jobs in this process, a few at once, until none waits;
   * false when none did.
   */
  workFileBatches(): Promise<boolean>;
  /** Queues a verify of the job's source when the job failed. */
  verifyAfterError(jobId: string): Promise<void>;
};
