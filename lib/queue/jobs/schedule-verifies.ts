import { scheduleVerifies } from "@/lib/verify/schedule-verifies";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";

/** Scheduled: queues the verifies that VERIFY_INTERVAL says are due. */
export const scheduleVerifiesJob = defineJob({
  name: QUEUES.scheduleVerifies,
  schema: emptyPayload,
  handle: async () => {
    await scheduleVerifies();
  },
});
