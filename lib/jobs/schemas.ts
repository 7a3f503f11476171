import { z } from "zod";

export const activitySchema = z.object({
  queued: z.number().int(),
  running: z.number().int(),
  workers: z.number().int().describe("Workers whose heartbeat is under a minute old"),
  recentFailures: z.array(
    z.object({
      jobId: z.uuid(),
      sourceId: z.uuid(),
      sourceName: z.string(),
      errorMessage: z.string().nullable(),
      completedAt: z.iso.datetime().nullable(),
    }),
  ),
});
/** What the activity indicator shows; `workers` 0 means queued syncs wait for nothing. */
export type ActivityDto = z.infer<typeof activitySchema>;
