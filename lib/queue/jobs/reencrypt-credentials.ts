import { reencryptCredentials } from "@/lib/oauth/reencrypt-credentials";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";
import { logger } from "@/lib/log";

/** Moves every credential to the current encryption key (sent at worker start and on demand). */
export const reencryptCredentialsJob = defineJob({
  name: QUEUES.reencryptCredentials,
  schema: emptyPayload,
  handle: async () => {
    const { moved, failed } = await reencryptCredentials();
    if (moved > 0 || failed > 0) logger.info({ moved, failed }, "credentials re-encrypted with the current key");
  },
});
