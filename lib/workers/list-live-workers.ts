import { desc, gt, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { workers } from "@/lib/db/schema";
import type { WorkerDto } from "./schemas";

/** A worker whose heartbeat is older than this is not counted as running. */
export const LIVE_WORKER_SECONDS = 60;

/** The workers whose heartbeat is younger than LIVE_WORKER_SECONDS, most recently started first. */
export async function listLiveWorkers(): Promise<WorkerDto[]> {
  const rows = await getDb()
    .select()
    .from(workers)
    .where(gt(workers.lastSeenAt, sql`now() - make_interval(secs => ${LIVE_WORKER_SECONDS})`))
    .orderBy(desc(workers.startedAt));
  return rows.map((w) => ({
    ...w,
    startedAt: w.startedAt.toISOString(),
    lastSeenAt: w.lastSeenAt.toISOString(),
  }));
}
