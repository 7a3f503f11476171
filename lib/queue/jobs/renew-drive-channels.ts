import { renewDriveChannels } from "@/lib/sources/drive-channels";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";
import { logger } from "@/lib/log";

/** Replaces Google Drive push channels before they expire: the new one first, then the old one stopped. */
export const renewDriveChannelsJob = defineJob({
  name: QUEUES.renewDriveChannels,
  schema: emptyPayload,
  handle: async () => {
    const report = await renewDriveChannels();
    if (report.opened + report.failed > 0) logger.info({ provider: "gdrive", ...report }, "drive channels renewed");
  },
});
