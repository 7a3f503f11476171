import { deliverChanges } from "@/lib/changes/deliver-changes";
import { createPipeline } from "@/lib/pipeline/deliver";
import { defineJob } from "../define-job";
import { QUEUES, sendToPipelinePayload } from "../names";

/**
 * Delivers the deletions recorded when a source was removed, from the outbox. Each one is
 * marked delivered (or failed, when a stage refuses it) as it goes, so a retry after a crash
 * starts where the last one stopped.
 */
export const sendToPipelineJob = defineJob({
  name: QUEUES.sendToPipeline,
  schema: sendToPipelinePayload,
  handle: async ({ sourceId }) => {
    await deliverChanges({ sourceId, fence: null, jobId: null, pipeline: createPipeline() });
  },
});
