import { eq } from "drizzle-orm";
import { getBoss } from "./boss";
import { QUEUES } from "./names";
import type { Db } from "@/lib/db/client";
import { withTransaction, type SqlExecutor } from "@/lib/db/transaction";
import { syncJobs } from "@/lib/db/schema";

export type SyncType = "full" | "incremental";
export type SyncTrigger = "create" | "manual" | "api" | "watcher" | "webhook" | "schedule" | "retry" | "verify";

export type SyncRequest = {
  sourceId: string;
  type: SyncType;
  trigger: SyncTrigger;
  /** Paths named by a watcher or webhook; absent: the connector's delta (or a full comparison). */
  paths?: string[];
  /** A full sync that may remove more files than the deletion guard allows; kept when merged. */
  confirmDeletes?: boolean;
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
export type SyncRequested = { jobId: string; coalesced: boolean };

export async function requestSync(request: SyncRequest): Promise<SyncRequested> {
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
): Promise<SyncRequested> {
  return (await requestSyncsInTransaction(tx, executor, [request]))[0]!;
}

/**
 * Several requests (at most one per source) in a few statements whatever their number: the
 * sources' locks in one (always in the same order, so two callers never deadlock), their
 * waiting jobs in one, the new jobs and their wake-ups in one each. Answers in request order.
 */
export async function requestSyncsInTransaction(
  tx: Db,
  executor: SqlExecutor,
  requests: SyncRequest[],
): Promise<SyncRequested[]> {
  if (requests.length === 0) return [];
  const boss = await getBoss();
  const sourceIds = [...new Set(requests.map((r) => r.sourceId))].sort();
  if (sourceIds.length !== requests.length)
    throw new Error("requestSyncsInTransaction takes at most one request per source.");
  await executor.executeSql(
    "select pg_advisory_xact_lock(hashtextextended(s, 0)) from (select unnest($1::text[]) as s order by 1) as ordered",
    [sourceIds],
  );
  // Plain SQL with one array parameter: this runs for every group of webhooks, and building the
  // query with drizzle cost more than running it.
  const waitingRows = (
    await executor.executeSql(
      `select id, source_id, type, paths, confirm_deletes from sync_jobs where source_id = any($1::uuid[]) and status = 'queued' and type in ('full', 'incremental')`,
      [sourceIds],
    )
  ).rows as { id: string; source_id: string; type: SyncType; paths: string[] | null; confirm_deletes: boolean }[];
  const waitingBySource = new Map(waitingRows.map((w) => [w.source_id, w]));
  const answers = new Map<string, SyncRequested>();
  const fresh: SyncRequest[] = [];
  for (const request of requests) {
    const waiting = waitingBySource.get(request.sourceId);
    if (!waiting) {
      fresh.push(request);
      continue;
    }
    const type: SyncType = waiting.type === "full" || request.type === "full" ? "full" : "incremental";
    const paths = type === "full" ? null : mergePaths(waiting.paths ?? null, request.paths);
    const samePaths =
      (paths === null && waiting.paths === null) ||
      (paths !== null && waiting.paths !== null && paths.length === waiting.paths.length);
    const confirmDeletes = waiting.confirm_deletes || (request.confirmDeletes ?? false);
    // A burst of webhooks folds into the waiting job; most of them change nothing in it.
    if (type === waiting.type && samePaths && confirmDeletes === waiting.confirm_deletes) {
      answers.set(request.sourceId, { jobId: waiting.id, coalesced: true });
      continue;
    }
    await tx.update(syncJobs).set({ type, paths, confirmDeletes }).where(eq(syncJobs.id, waiting.id));
    answers.set(request.sourceId, { jobId: waiting.id, coalesced: true });
  }
  if (fresh.length > 0) {
    const jobs = await tx
      .insert(syncJobs)
      .values(
        fresh.map((request) => ({
          sourceId: request.sourceId,
          type: request.type,
          trigger: request.trigger,
          status: "queued",
          paths: request.type === "incremental" && request.paths?.length ? [...new Set(request.paths)] : null,
          confirmDeletes: request.confirmDeletes ?? false,
        })),
      )
      .returning({ id: syncJobs.id, sourceId: syncJobs.sourceId });
    for (const job of jobs) answers.set(job.sourceId, { jobId: job.id, coalesced: false });
    // Deduplicated when a wake-up for a source already waits: that one drains the new row.
    await boss.insert(
      QUEUES.syncSource,
      fresh.map((request) => ({ data: { sourceId: request.sourceId }, singletonKey: request.sourceId })),
      { db: executor },
    );
  }
  return requests.map((r) => answers.get(r.sourceId)!);
}
