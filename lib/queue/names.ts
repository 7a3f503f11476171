import { z } from "zod";

export const QUEUES = {
  syncSource: "sync-source",
  processFileBatch: "process-file-batch",
  sendToPipeline: "send-to-pipeline",
  sweepSyncs: "sweep-syncs",
} as const;

/** A wake-up for one source: the sync_jobs table holds what to do, the worker drains it. */
export const syncSourcePayload = z.object({ sourceId: z.uuid() });
export type SyncSourcePayload = z.infer<typeof syncSourcePayload>;

/** Re-process a list of paths of one source (retrying the files a sync could not read). */
export const processFileBatchPayload = z.object({ sourceId: z.uuid(), paths: z.array(z.string().min(1)).min(1) });
export type ProcessFileBatchPayload = z.infer<typeof processFileBatchPayload>;

/** Deliver the pending pipeline_deliveries rows of one source. */
export const sendToPipelinePayload = z.object({ sourceId: z.uuid() });
export type SendToPipelinePayload = z.infer<typeof sendToPipelinePayload>;

export const emptyPayload = z.object({}).passthrough().nullable();
