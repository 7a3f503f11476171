import type { z } from "zod";
import { getBoss } from "./boss";
import type { JobDefinition } from "./define-job";
import { runJob } from "./run-job";

/** A fetched job is touched this often: pg-boss takes one without heartbeats for dead. */
const HEARTBEAT_MS = 4_000;

/**
 * Takes one job of the definition's queue and runs it in this process, as boss.work would: kept
 * alive with heartbeats, then completed, or failed for pg-boss to retry. Returns whether there
 * was one. A sync waiting for its batches runs them this way instead of idling.
 */
export async function workOne<S extends z.ZodType>(definition: JobDefinition<S>): Promise<boolean> {
  const boss = await getBoss();
  const [job] = await boss.fetch(definition.name, { includeMetadata: true });
  if (!job) return false;
  const heartbeat = setInterval(() => void boss.touch(definition.name, job.id).catch(() => {}), HEARTBEAT_MS);
  try {
    await runJob(definition as JobDefinition<z.ZodType>, job);
    await boss.complete(definition.name, job.id);
  } catch (err) {
    await boss.fail(definition.name, job.id, { message: err instanceof Error ? err.message : String(err) });
  } finally {
    clearInterval(heartbeat);
  }
  return true;
}
