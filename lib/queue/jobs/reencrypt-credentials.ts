import { reencryptCredentials } from "@/lib/oauth/reencrypt-credentials";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";

/** Moves every credential to the current encryption key (sent at worker start and on demand). */
export const reencryptCredentialsJob = defineJob({
  name: QUEUES.reencryptCredentials,
  schema: emptyPayload,
  handle: async () => {
    const { moved, failed } = await reencryptCredentials();
    if (moved > 0 || failed > 0)
      console.log(`[reencrypt] moved ${moved} credential(s) to the current key; ${failed} could not be opened`);
  },
});
