import { and, eq, sql } from "drizzle-orm";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";
import type { Db } from "@/lib/db/client";
import { withTransaction, type SqlExecutor } from "@/lib/db/transaction";
import { syncJobs, type SyncJob } from "@/lib/db/schema";

export type SyncType = "full" | "incremental";
export type SyncTrigger = "create" | "manual" | "api" | "watcher" | "webhook" | "schedule" | "retry";

export type SyncRequest = {
  sourceId: string;
  type: SyncType;
  trigger: SyncTrigger;
  /** Paths named by a watcher or webhook; absent: the connector's delta (or a full comparison). */
  paths?: string[];
};

/** Paths merged into a waiting job stop being listed past this many: it compares everything instead. */
const MAX_NAMED_PATHS = 5_000;

function mergePaths(a: string[] | null, b: string[] | undefined): string[] | null {
  if (a === null || !b) return null;
  const merged = [...new Set([...a, ...b])];
  return merged.length > MAX_NAMED_PATHS ? null : merged;
}

/**
 * Queues a sync of one source, or folds the request into the one already waiting: while a
 * sync runs, any number of requests become a single follow-up. The sync_jobs row and the
 * pg-boss wake-up commit together, so a request is never lost.
 */
export async function requestSync(request: SyncRequest): Promise<{ job: SyncJob; coalesced: boolean }> {
  await getBoss();
  return withTransaction((tx, executor) => requestSyncInTransaction(tx, executor, request));
}

/**
 * requestSync inside a transaction the caller owns (a webhook records its event in the same
 * one). Start the queue (`await getBoss()`) before opening the transaction: starting it
 * inside would wait on other connections while this one holds the embedded database.
 */
export async function requestSyncInTransaction(
  tx: Db,
  executor: SqlExecutor,
  request: SyncRequest,
): Promise<{ job: SyncJob; coalesced: boolean }> {
  const boss = await getBoss();
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${request.sourceId}, 0))`);
  const [waiting] = await tx
    .select()
    .from(syncJobs)
    .where(and(eq(syncJobs.sourceId, request.sourceId), eq(syncJobs.status, "queued")))
    .limit(1);
  if (waiting) {
    const type: SyncType = waiting.type === "full" || request.type === "full" ? "full" : "incremental";
    const paths = type === "full" ? null : mergePaths(waiting.paths ?? null, request.paths);
    const [job] = await tx.update(syncJobs).set({ type, paths }).where(eq(syncJobs.id, waiting.id)).returning();
    return { job: job!, coalesced: true };
  }
  const [job] = await tx
    .insert(syncJobs)
    .values({
      sourceId: request.sourceId,
      type: request.type,
      trigger: request.trigger,
      status: "queued",
      paths: request.type === "incremental" && request.paths?.length ? [...new Set(request.paths)] : null,
    })
    .returning();
  // Deduplicated (null) when a wake-up for this source already waits: that one drains this row.
  await boss.send(QUEUES.syncSource, { sourceId: request.sourceId }, { singletonKey: request.sourceId, db: executor });
  return { job: job!, coalesced: false };
}
