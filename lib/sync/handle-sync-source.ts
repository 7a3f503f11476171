import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources, syncJobs, type SyncJob } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { ConnectorAuthError, ConnectorError } from "@/lib/connectors/errors";
import { connectorForSource } from "@/lib/sync/connector-for-source";
import { createPipeline, type Pipeline } from "@/lib/pipeline/deliver";
import { isCurrentFence } from "@/lib/changes/fence";
import { runRedelivery } from "@/lib/changes/redeliver";
import { setJobDetail } from "./progress";
import { SyncCancelledError } from "@/lib/changes/attempt-errors";
import { SyncRun } from "./sync-run";
import { SyncStoppedError } from "./sync-stopped-error";
import { withRateLimitBudget } from "@/lib/connectors/wait-out-rate-limits";
import { errorField, syncLogger, withSyncLog } from "@/lib/log";
import type { AttemptInfo, SyncQueue } from "./sync-queue";

/**
 * Takes the job to work on: one left running by a crashed (or presumed dead) attempt first,
 * else the oldest queued; and starts a new fencing generation, so that whatever an earlier
 * attempt still runs can neither write nor deliver from now on.
 */
async function claimNext(sourceId: string): Promise<{ job: SyncJob; fence: number } | null> {
  return withTransaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${sourceId}, 0))`);
    const [job] = await tx
      .select()
      .from(syncJobs)
      .where(
        and(
          eq(syncJobs.sourceId, sourceId),
          ne(syncJobs.type, "verify"),
          inArray(syncJobs.status, ["running", "queued"]),
        ),
      )
      .orderBy(sql`case when ${syncJobs.status} = 'running' then 0 else 1 end`, asc(syncJobs.createdAt))
      .limit(1);
    if (!job) return null;
    const now = new Date();
    const [claimed] = await tx
      .update(syncJobs)
      .set({ status: "running", startedAt: job.startedAt ?? now, attempts: job.attempts + 1, detail: null })
      .where(eq(syncJobs.id, job.id))
      .returning();
    // A redelivery leaves the index, and so the source's status, as it is.
    const status = job.type === "redeliver" ? sql`${sources.status}` : "syncing";
    const [source] = await tx
      .update(sources)
      .set({ status, updatedAt: now, fence: sql`${sources.fence} + 1` })
      .where(eq(sources.id, sourceId))
      .returning({ fence: sources.fence });
    return { job: claimed!, fence: source!.fence };
  });
}

async function failJob(job: SyncJob, message: string, sourceStatus: "error" | "needs_reauth"): Promise<void> {
  const db = getDb();
  const now = new Date();
  await db
    .update(syncJobs)
    .set({ status: "failed", errorMessage: message, detail: null, completedAt: now })
    .where(and(eq(syncJobs.id, job.id), eq(syncJobs.status, "running")));
  await db
    .update(sources)
    .set({ status: sourceStatus, statusDetail: message, updatedAt: now })
    .where(eq(sources.id, job.sourceId));
}

/** After a cancel the source shows its last settled state again, unless another sync runs. */
async function settleAfterCancel(sourceId: string): Promise<void> {
  const db = getDb();
  const [source] = await db.select({ lastSyncAt: sources.lastSyncAt }).from(sources).where(eq(sources.id, sourceId));
  await db
    .update(sources)
    .set({ status: source?.lastSyncAt ? "synced" : "pending", updatedAt: new Date() })
    .where(
      and(
        eq(sources.id, sourceId),
        sql`not exists (select 1 from ${syncJobs} where ${syncJobs.sourceId} = ${sourceId} and ${syncJobs.status} = 'running')`,
      ),
    );
}

/**
 * The sync-source job: drains every sync waiting for one source. pg-boss runs at most one
 * of these per source, so the source's rows are only ever written by one sync at a time.
 * Transient failures are thrown so pg-boss retries with backoff; the retry resumes the job.
 */
export async function handleSyncSource(
  sourceId: string,
  attempt: AttemptInfo,
  queue: SyncQueue,
  pipeline: Pipeline = createPipeline(),
): Promise<void> {
  const db = getDb();
  for (;;) {
    const [source] = await db.select().from(sources).where(eq(sources.id, sourceId));
    if (!source) return;
    const claim = await claimNext(sourceId);
    if (!claim) return;
    const { job, fence } = claim;
    const fields = { sourceId, jobId: job.id, provider: source.type };
    const log = syncLogger(fields);
    try {
      const onWait = (detail: string | null) => setJobDetail(job.id, detail);
      if (job.type === "redeliver") {
        log.info({ type: job.type, trigger: job.trigger, attempt: job.attempts }, "redelivery started");
        await withSyncLog(fields, () => runRedelivery(job, fence, pipeline));
        log.info("redelivery completed");
        continue;
      }
      log.info({ type: job.type, trigger: job.trigger, attempt: job.attempts }, "sync started");
      await withSyncLog(fields, async () => {
        const connector = await connectorForSource(source, { onWait });
        await withRateLimitBudget(() => new SyncRun(queue, job, source, connector, pipeline, fence).run());
      });
      log.info("sync completed");
      await queue.verifyAfterError(job.id);
    } catch (err) {
      // Fenced off by a newer attempt or the source's deletion: they own everything now.
      if (!(await isCurrentFence(sourceId, fence))) {
        const [now] = await db.select({ status: syncJobs.status }).from(syncJobs).where(eq(syncJobs.id, job.id));
        if (now?.status !== "cancelled") {
          log.info("sync attempt superseded (taken over, or its source deleted)");
          return;
        }
      }
      if (err instanceof SyncCancelledError) {
        log.info("sync cancelled");
        await settleAfterCancel(sourceId);
        continue;
      }
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof ConnectorAuthError) {
        log.warn({ error: errorField(err) }, "sync failed: the source needs new credentials");
        await failJob(job, message, "needs_reauth");
        await queue.verifyAfterError(job.id);
        continue;
      }
      if (err instanceof SyncStoppedError || (err instanceof ConnectorError && !err.retryable)) {
        log.warn({ error: errorField(err) }, "sync failed");
        await failJob(job, message, "error");
        await queue.verifyAfterError(job.id);
        continue;
      }
      if (attempt.retryCount >= attempt.retryLimit) {
        log.error({ error: errorField(err), attempts: attempt.retryCount + 1 }, "sync failed: gave up retrying");
        await failJob(job, `${message} (gave up after ${attempt.retryCount + 1} attempts)`, "error");
        await queue.verifyAfterError(job.id);
        continue;
      }
      log.warn({ error: errorField(err), retryCount: attempt.retryCount }, "sync attempt failed: retried later");
      await setJobDetail(job.id, `retrying after: ${message}`);
      throw err;
    }
  }
}
