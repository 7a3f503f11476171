import { handleVerifySource } from "@/lib/verify/verify-source";
import { defineJob } from "../define-job";
import { QUEUES, verifySourcePayload } from "../names";

/** Compares one source's index with the source (a sync_jobs row of type "verify"). */
export const verifySourceJob = defineJob({
  name: QUEUES.verifySource,
  schema: verifySourcePayload,
  handle: (data, job) => handleVerifySource(data.jobId, { retryCount: job.retryCount, retryLimit: job.retryLimit }),
});
