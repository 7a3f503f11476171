import { handleSyncSource } from "@/lib/sync/handle-sync-source";
import { defineJob } from "../define-job";
import { QUEUES, syncSourcePayload } from "../names";
import { syncQueue } from "../sync-queue";

export const syncSourceJob = defineJob({
  name: QUEUES.syncSource,
  schema: syncSourcePayload,
  concurrency: Number(process.env.WORKER_CONCURRENCY ?? 2),
  handle: (data, job) =>
    handleSyncSource(data.sourceId, { retryCount: job.retryCount, retryLimit: job.retryLimit }, syncQueue),
});
