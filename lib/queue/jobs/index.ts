import { processFileBatchJob } from "./process-file-batch";
import { reencryptCredentialsJob } from "./reencrypt-credentials";
import { refreshCredentialsJob } from "./refresh-credentials";
import { pollSourcesJob } from "./poll-sources";
import { renewDriveChannelsJob } from "./renew-drive-channels";
import { sendToPipelineJob } from "./send-to-pipeline";
import { sweepSyncsJob } from "./sweep-syncs";
import { syncSourceJob } from "./sync-source";

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
] as const;
