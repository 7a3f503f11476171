import { pollSources } from "@/lib/queue/poll-sources";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";

/** Scheduled: looks for new commits on the sources that have no webhook. */
export const pollSourcesJob = defineJob({
  name: QUEUES.pollSources,
  schema: emptyPayload,
  handle: async () => {
    await pollSources();
  },
});
