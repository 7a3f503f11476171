import type { JobWithMetadata } from "pg-boss";
import type { z } from "zod";
import { parsePayload, type JobDefinition } from "./define-job";

/** Runs one delivered job by its definition; a payload that can never succeed is dropped (completed). */
export async function runJob(definition: JobDefinition<z.ZodType>, job: JobWithMetadata<unknown>): Promise<void> {
  const payload = parsePayload(definition.name, definition.schema, job);
  if (payload) await definition.handle(payload.data, job);
}
