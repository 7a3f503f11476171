import type { SyncQueue } from "@/lib/sync/sync-queue";
import { verifyAfterError } from "@/lib/verify/request-verify";
import { getBoss } from "./boss";
import { processFileBatchJob } from "./jobs/process-file-batch";
import { QUEUES } from "./names";
import { workOne } from "./work-one";

/** The sync engine's queue: pg-boss. */
export const syncQueue: SyncQueue = {
  async ready() {
    await getBoss();
  },
  async sendFileBatches(jobId, batchNos, executor) {
    if (batchNos.length === 0) return;
    const boss = await getBoss();
    await boss.insert(
      QUEUES.processFileBatch,
      batchNos.map((batchNo) => ({ data: { syncJobId: jobId, batchNo }, singletonKey: `${jobId}:${batchNo}` })),
      executor ? { db: executor } : undefined,
    );
  },
  async workFileBatches() {
    // As many at once as a worker's own process-file-batch slots (WORKER_BATCH_CONCURRENCY):
    // one batch's reads and writes overlap another's locked part and commit.
    let worked = false;
    const slots = Array.from({ length: processFileBatchJob.concurrency ?? 1 }, async () => {
      while (await workOne(processFileBatchJob)) worked = true;
    });
    await Promise.all(slots);
    return worked;
  },
  verifyAfterError,
};
