import type { Job, JobWithMetadata } from "pg-boss";
import type { z } from "zod";
import { logger } from "@/lib/log";

export type JobDefinition<S extends z.ZodType> = {
  name: string;
  schema: S;
  /** Jobs of this queue one worker process runs at once. */
  concurrency?: number;
  handle(data: z.infer<S>, job: JobWithMetadata<unknown>): Promise<void>;
};

export function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

/** A payload that can never succeed is logged and completed, not retried forever. */
export function parsePayload(name: string, schema: z.ZodType, job: Job<unknown>): { data: unknown } | null {
  const parsed = schema.safeParse(job.data);
  if (parsed.success) return { data: parsed.data };
  logger.error({ queue: name, queueJobId: job.id, issues: parsed.error.message }, "job payload invalid: dropped");
  return null;
}
