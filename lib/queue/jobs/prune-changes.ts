import { pruneChanges } from "@/lib/changes/prune-changes";
import { logger } from "@/lib/log";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";

/** Compacts the changes feed past CHANGES_RETENTION_DAYS (hourly; see pruneChanges). */
export const pruneChangesJob = defineJob({
  name: QUEUES.pruneChanges,
  schema: emptyPayload,
  handle: async () => {
    const pruned = await pruneChanges();
    if (pruned > 0) logger.info({ pruned }, "pruned changes past their retention");
  },
});
