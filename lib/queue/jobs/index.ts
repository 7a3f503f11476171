import { processFileBatchJob } from "./process-file-batch";
import { reencryptCredentialsJob } from "./reencrypt-credentials";
import { refreshCredentialsJob } from "./refresh-credentials";
import { pollSourcesJob } from "./poll-sources";
import { pruneChangesJob } from "./prune-changes";
import { pruneWebhookEventsJob } from "./prune-webhook-events";
import { renewDriveChannelsJob } from "./renew-drive-channels";
import { sendToPipelineJob } from "./send-to-pipeline";
import { sweepSyncsJob } from "./sweep-syncs";
import { scheduleVerifiesJob } from "./schedule-verifies";
import { syncSourceJob } from "./sync-source";
import { verifySourceJob } from "./verify-source";

/** Every job the worker runs, by queue name. */
export const JOBS = [
  syncSourceJob,
  processFileBatchJob,
  sendToPipelineJob,
  sweepSyncsJob,
  pollSourcesJob,
  renewDriveChannelsJob,
  refreshCredentialsJob,
  reencryptCredentialsJob,
  pruneWebhookEventsJob,
  verifySourceJob,
  scheduleVerifiesJob,
  pruneChangesJob,
] as const;
