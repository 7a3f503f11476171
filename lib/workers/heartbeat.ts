import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq, lt, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { workers } from "@/lib/db/schema";
import { processMetrics } from "@/lib/metrics/counters";
import { errorField, logger } from "@/lib/log";

/** How often a worker says it is alive; a worker unseen for LIVE_WORKER_SECONDS counts as gone. */
export const HEARTBEAT_INTERVAL_MS = 15_000;
/** Rows of workers that stopped without removing theirs are deleted after a day. */
const FORGET_AFTER_MS = 24 * 3600 * 1000;

export type WorkerHeartbeat = { id: string; stop(): Promise<void> };

/** Heartbeats this process runs: their published counters are this process's own, not another's. */
export const localWorkerIds = new Set<string>();

function appVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(path.join(process.cwd(), "package.json"), "utf8")) as { version?: string }).version ??
      "unknown"
    );
  } catch {
    return "unknown";
  }
}

/**
 * Records this worker process in `workers` and refreshes its row every HEARTBEAT_INTERVAL_MS
 * with the number of jobs it is running (times are the database's clock, so hosts' clocks
 * may differ); stop() removes the row. A beat that fails (the
 * database restarting) is retried at the next interval.
 */
export async function startWorkerHeartbeat(
  jobsRunning: () => number,
  { intervalMs = HEARTBEAT_INTERVAL_MS } = {},
): Promise<WorkerHeartbeat> {
  const id = randomUUID();
  localWorkerIds.add(id);
  const now = new Date();
  await getDb()
    .insert(workers)
    .values({
      id,
      pid: process.pid,
      host: os.hostname(),
      version: appVersion(),
      startedAt: now,
      lastSeenAt: sql`now()`,
      jobsRunning: jobsRunning(),
    });
  await getDb()
    .delete(workers)
    .where(lt(workers.lastSeenAt, sql`now() - make_interval(secs => ${FORGET_AFTER_MS / 1000})`));

  const beat = async () => {
    const metrics = await processMetrics.getMetricsAsJSON();
    await getDb()
      .insert(workers)
      .values({
        id,
        pid: process.pid,
        host: os.hostname(),
        version: appVersion(),
        startedAt: now,
        lastSeenAt: sql`now()`,
        jobsRunning: jobsRunning(),
        metrics,
      })
      .onConflictDoUpdate({ target: workers.id, set: { lastSeenAt: sql`now()`, jobsRunning: jobsRunning(), metrics } });
  };
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = beat().catch((err: unknown) => logger.warn({ error: errorField(err) }, "worker heartbeat failed"));
  }, intervalMs);
  timer.unref();

  return {
    id,
    async stop() {
      clearInterval(timer);
      await running;
      localWorkerIds.delete(id);
      await getDb()
        .delete(workers)
        .where(eq(workers.id, id))
        .catch(() => {});
    },
  };
}
