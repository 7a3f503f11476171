import { z } from "zod";

export const QUEUES = {
  syncSource: "sync-source",
  sendToPipeline: "send-to-pipeline",
  sweepSyncs: "sweep-syncs",
  renewDriveChannels: "renew-drive-channels",
} as const;

/** A wake-up for one source: the sync_jobs table holds what to do, the worker drains it. */
export const syncSourcePayload = z.object({ sourceId: z.uuid() });
export type SyncSourcePayload = z.infer<typeof syncSourcePayload>;

/** Deliver the pending pipeline_deliveries rows of one source. */
export const sendToPipelinePayload = z.object({ sourceId: z.uuid() });
export type SendToPipelinePayload = z.infer<typeof sendToPipelinePayload>;

export const emptyPayload = z.object({}).passthrough().nullable();
