import { and, eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources, syncJobBatches, syncJobs } from "@/lib/db/schema";
import { connectorForSource } from "@/lib/sync/connector-for-source";
import { createPipeline, type Pipeline } from "@/lib/pipeline/deliver";
import { batchErrorKind, batchSettledHere, fromBatchEntry } from "./file-batches";
import { DEFAULT_CONCURRENCY, FileProcessor, loadIndex } from "./file-processor";
import { createFileFilter, type FilterConfig } from "./filters";
import { SyncCancelledError } from "@/lib/changes/attempt-errors";
import { setJobDetail } from "./progress";
import type { AttemptInfo } from "./sync-queue";
import { errorField, syncLogger, withSyncLog } from "@/lib/log";

async function settle(
  batch: { id: number; jobId: string },
  status: "done" | "failed",
  error?: { kind: string; message: string },
): Promise<void> {
  await getDb()
    .update(syncJobBatches)
    .set({ status, errorKind: error?.kind ?? null, errorMessage: error?.message ?? null, completedAt: new Date() })
    .where(and(eq(syncJobBatches.id, batch.id), eq(syncJobBatches.status, "pending")));
  batchSettledHere(batch.jobId);
}

/**
 * The process-file-batch job: reads, indexes and delivers one batch of a fanned-out sync.
 * Idempotent: a batch already settled does nothing, and a retried one finds its rows indexed
 * and its undelivered changes still pending in the outbox. Transient errors are thrown for pg-boss to retry; the last attempt records them
 * on the batch so that the waiting sync fails honestly instead of waiting forever.
 */
export async function handleFileBatch(
  data: { syncJobId: string; batchNo: number },
  attempt: AttemptInfo,
  pipeline: Pipeline = createPipeline(),
): Promise<void> {
  // The batch with its job and source, in one statement.
  const [found] = await getDb()
    .select({ batch: syncJobBatches, job: syncJobs, source: sources })
    .from(syncJobBatches)
    .leftJoin(syncJobs, eq(syncJobs.id, syncJobBatches.jobId))
    .leftJoin(sources, eq(sources.id, syncJobs.sourceId))
    .where(and(eq(syncJobBatches.jobId, data.syncJobId), eq(syncJobBatches.batchNo, data.batchNo)));
  if (!found || found.batch.status !== "pending") return;
  const { batch, job, source } = found;
  if (!job || !source || job.status !== "running") return settle(batch, "done");

  const processor = new FileProcessor({
    jobId: job.id,
    fence: batch.fence,
    source,
    connector: await connectorForSource(source),
    pipeline,
    filter: createFileFilter(source.config as FilterConfig),
    concurrency: DEFAULT_CONCURRENCY,
    setDetail: (detail) => setJobDetail(job.id, detail),
  });
  const entries = batch.files.map(fromBatchEntry);
  const fields = { sourceId: source.id, jobId: job.id, provider: source.type };
  try {
    const existing = await loadIndex(
      source.id,
      entries.map((f) => f.path),
      { exact: true },
    );
    // Settled once its changes are delivered, so that the waiting sync completes only then.
    await withSyncLog(fields, () =>
      processor.process(
        entries.map((file) => ({ file, content: null })),
        existing,
      ),
    );
    await settle(batch, "done");
  } catch (err) {
    // A cancelled or fenced-off attempt's batch stops; a newer attempt redoes what it left.
    if (err instanceof SyncCancelledError) return settle(batch, "done");
    const kind = batchErrorKind(err);
    const message = err instanceof Error ? err.message : String(err);
    const retried = kind === "transient" && attempt.retryCount < attempt.retryLimit;
    syncLogger(fields).warn(
      { batchNo: batch.batchNo, kind, error: errorField(err) },
      retried ? "file batch attempt failed: retried later" : "file batch failed",
    );
    if (retried) throw err;
    await settle(batch, "failed", { kind, message });
  }
}
