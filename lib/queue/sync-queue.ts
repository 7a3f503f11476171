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
  workOneFileBatch: () => workOne(processFileBatchJob),
  verifyAfterError,
};
