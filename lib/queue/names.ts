import { z } from "zod";

export const QUEUES = {
  syncSource: "sync-source",
  processFileBatch: "process-file-batch",
  sendToPipeline: "send-to-pipeline",
  sweepSyncs: "sweep-syncs",
  refreshCredentials: "refresh-credentials",
  reencryptCredentials: "reencrypt-credentials",
  pollSources: "poll-sources",
  renewDriveChannels: "renew-drive-channels",
  pruneWebhookEvents: "prune-webhook-events",
  verifySource: "verify-source",
  scheduleVerifies: "schedule-verifies",
  pruneChanges: "prune-changes",
} as const;

/** A wake-up for one source: the sync_jobs table holds what to do, the worker drains it. */
export const syncSourcePayload = z.object({ sourceId: z.uuid() });
export type SyncSourcePayload = z.infer<typeof syncSourcePayload>;

/** One batch of a fanned-out sync; the batch's files are in sync_job_batches. */
export const processFileBatchPayload = z.object({ syncJobId: z.uuid(), batchNo: z.number().int().nonnegative() });
export type ProcessFileBatchPayload = z.infer<typeof processFileBatchPayload>;

/** Deliver the pending changes (the outbox) of one source. */
export const sendToPipelinePayload = z.object({ sourceId: z.uuid() });
export type SendToPipelinePayload = z.infer<typeof sendToPipelinePayload>;

/** One verify job: its sync_jobs row (type "verify") holds the source and the result. */
export const verifySourcePayload = z.object({ jobId: z.uuid() });
export type VerifySourcePayload = z.infer<typeof verifySourcePayload>;

export const emptyPayload = z.object({}).passthrough().nullable();
