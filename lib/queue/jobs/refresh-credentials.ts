import { credentialsDueForRefresh, refreshCredential } from "@/lib/oauth/get-access-token";
import { pruneOAuthStates } from "@/lib/oauth/flow";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";
import { errorField, logger } from "@/lib/log";

/** Tokens are refreshed this long ahead of their expiry by the schedule (on use: five minutes). */
export const SCHEDULED_REFRESH_AHEAD_SECONDS = 15 * 60;

/**
 * Scheduled: refreshes every token that expires soon, one credential at a time, each under the
 * same advisory lock as a refresh on use. One credential failing does not stop the others; a
 * refused refresh marks that credential `needs_reauth`.
 */
export const refreshCredentialsJob = defineJob({
  name: QUEUES.refreshCredentials,
  schema: emptyPayload,
  handle: async () => {
    await pruneOAuthStates();
    for (const id of await credentialsDueForRefresh(SCHEDULED_REFRESH_AHEAD_SECONDS)) {
      try {
        await refreshCredential(id, SCHEDULED_REFRESH_AHEAD_SECONDS);
      } catch (err) {
        logger.warn({ credentialId: id, error: errorField(err) }, "credential refresh failed");
      }
    }
  },
});
