import { renewDriveChannelsJob } from "./renew-drive-channels";
import { sendToPipelineJob } from "./send-to-pipeline";
import { sweepSyncsJob } from "./sweep-syncs";
import { syncSourceJob } from "./sync-source";

/** Every job the worker runs, by queue name. */
export const JOBS = [syncSourceJob, sendToPipelineJob, sweepSyncsJob, renewDriveChannelsJob] as const;
