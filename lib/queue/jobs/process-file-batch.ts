import { handleFileBatch } from "@/lib/sync/handle-file-batch";
import { defineJob } from "../define-job";
import { processFileBatchPayload, QUEUES } from "../names";

export const processFileBatchJob = defineJob({
  name: QUEUES.processFileBatch,
  schema: processFileBatchPayload,
  concurrency: Number(process.env.WORKER_BATCH_CONCURRENCY ?? 2),
  handle: (data, job) => handleFileBatch(data, { retryCount: job.retryCount, retryLimit: job.retryLimit }),
});
