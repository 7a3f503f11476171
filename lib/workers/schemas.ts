import { z } from "zod";

export const workerSchema = z.object({
  id: z.string(),
  pid: z.number().int(),
  host: z.string(),
  version: z.string(),
  startedAt: z.string(),
  lastSeenAt: z.string(),
  jobsRunning: z.number().int(),
});
export type WorkerDto = z.infer<typeof workerSchema>;

export const healthResponse = z.object({
  ok: z.boolean(),
  database: z.boolean(),
  workers: z
    .array(workerSchema)
    .optional()
    .describe("Workers whose heartbeat is under 60 s old; only for signed-in callers and API tokens"),
});
export type Health = z.infer<typeof healthResponse>;
