import { and, eq } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { sources, syncJobs, type Source, type SyncJob } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import type { Connector, FileChange, RemoteFile } from "@/lib/connectors/types";
import type { Pipeline } from "@/lib/pipeline/deliver";
import { deleteIndexedFiles } from "./delete-files";
import { DEFAULT_CONCURRENCY, FileProcessor, loadIndex, type BatchEntry, type IndexedFile } from "./file-processor";
import { enqueueFileBatches, settleFileBatches } from "./file-batches";
import { workOneFileBatch } from "./handle-file-batch";
import { createFileFilter, type FileFilter, type FilterConfig } from "./filters";
import { addProgress, resetProgress, setTotal, SyncCancelledError, throwIfCancelled } from "./progress";
import { waitOutRateLimits } from "./provider-call";

export { SyncCancelledError } from "./progress";

/** Files written to the database in one transaction, and files in one process-file-batch job. */
export const WRITE_BATCH = 100;
/** More changed files than this are fanned out to process-file-batch jobs that any worker runs. */
const FAN_OUT_THRESHOLD = Number(process.env.SYNC_FAN_OUT_THRESHOLD ?? 2 * WRITE_BATCH);

/**
 * One attempt at one sync job. Everything it writes is keyed by (source, path) and compared
 * by provider version and hash first, so a retried attempt skips what an earlier one finished.
 */
export class SyncRun {
  private readonly filter: FileFilter;
  private readonly processor: FileProcessor;

  constructor(
    private readonly db: Db,
    private readonly job: SyncJob,
    private readonly source: Source,
    private readonly connector: Connector,
    private readonly pipeline: Pipeline,
    private readonly concurrency = DEFAULT_CONCURRENCY,
  ) {
    this.filter = createFileFilter(source.config as FilterConfig);
    this.processor = new FileProcessor({
      jobId: job.id,
      source,
      connector,
      pipeline,
      filter: this.filter,
      concurrency,
      setDetail: (detail) => this.setDetail(detail),
    });
  }

  async run(): Promise<void> {
    // A crashed attempt may have left batches running: they finish (or fail) before this one counts.
    await settleFileBatches(this.db, this.job.id, { clear: true });
    await resetProgress(this.db, this.job.id);
    if (this.job.type === "full") return this.full();
    if (this.job.paths?.length) return this.named(this.job.paths);
    if (this.connector.getChanges && this.source.cursor) {
      const delta = await this.providerCall(() => this.connector.getChanges!(this.source.cursor!));
      if (!delta.reset) return this.applyChanges(delta.changes, delta.cursor);
    }
    // No delta feed (or a void cursor): compare everything; unchanged files cost no read.
    return this.full();
  }

  private async full(): Promise<void> {
    const cursor = await this.providerCall(() => this.connector.currentCursor());
    const existing = await loadIndex(this.db, this.source.id);
    const listed = new Set<string>();
    if (this.connector.streamFiles) {
      let slice: BatchEntry[] = [];
      for await (const entry of this.connector.streamFiles()) {
        if (!this.filter.checkPath(entry.path).keep) continue;
        listed.add(entry.path);
        slice.push({ file: entry, content: entry.content });
        if (slice.length >= WRITE_BATCH) {
          // The archive's size is not known ahead: the total grows as it streams.
          await setTotal(this.db, this.job.id, listed.size);
          await this.processor.process(slice, existing);
          slice = [];
        }
      }
      await setTotal(this.db, this.job.id, listed.size);
      await this.processor.process(slice, existing);
    } else {
      const candidates: RemoteFile[] = [];
      for await (const file of this.connector.listFiles()) {
        if (this.filter.checkPath(file.path).keep) candidates.push(file);
      }
      for (const file of candidates) listed.add(file.path);
      await setTotal(this.db, this.job.id, candidates.length);
      await this.processFiles(candidates, existing);
    }
    const orphans = [...existing.keys()].filter((p) => !listed.has(p));
    await setTotal(this.db, this.job.id, { remaining: orphans.length });
    await this.deletePaths(orphans, existing);
    await this.finish(cursor);
  }

  /** Paths named by a watcher or webhook: a path may be a file, a folder, or gone. */
  private async named(paths: string[]): Promise<void> {
    const existing = await loadIndex(this.db, this.source.id, paths);
    const candidates = new Map<string, RemoteFile>();
    for (const p of paths) {
      const meta = await this.providerCall(() => this.connector.getFileMetadata(p));
      if (meta) candidates.set(meta.path, meta);
      else for await (const child of this.connector.listFiles(p, true)) candidates.set(child.path, child);
    }
    const keep = [...candidates.values()].filter((f) => this.filter.checkPath(f.path).keep);
    await this.processAndPrune(keep, existing);
    await this.finish(this.source.cursor);
  }

  private async applyChanges(changes: FileChange[], cursor: string | null): Promise<void> {
    const upserts = new Set<string>();
    const deletes = new Set<string>();
    for (const change of changes) {
      if (change.kind === "rename") {
        deletes.add(change.previousPath);
        upserts.add(change.path);
      } else if (change.kind === "delete") {
        deletes.add(change.path);
        upserts.delete(change.path);
      } else {
        upserts.add(change.path);
        deletes.delete(change.path);
      }
    }
    const existing = await loadIndex(this.db, this.source.id, [...upserts, ...deletes], { exact: true });
    const candidates: RemoteFile[] = [];
    for (const p of upserts) {
      if (!this.filter.checkPath(p).keep) continue;
      const meta = await this.providerCall(() => this.connector.getFileMetadata(p));
      if (meta) candidates.push(meta);
    }
    await this.processAndPrune(candidates, existing);
    await this.finish(cursor);
  }

  /** Indexes `candidates`, then removes every row in `existing` that is not one of them. */
  private async processAndPrune(candidates: RemoteFile[], existing: Map<string, IndexedFile>): Promise<void> {
    const candidatePaths = new Set(candidates.map((f) => f.path));
    const gone = [...existing.keys()].filter((p) => !candidatePaths.has(p));
    await setTotal(this.db, this.job.id, candidates.length + gone.length);
    await this.processFiles(candidates, existing);
    await this.deletePaths(gone, existing);
  }

  private async processFiles(candidates: RemoteFile[], existing: Map<string, IndexedFile>): Promise<void> {
    const changed = candidates.filter((file) => {
      const row = existing.get(file.path);
      return !(row && file.version !== null && row.providerVersion === file.version);
    });
    const unchanged = candidates.length - changed.length;
    if (unchanged > 0 && !(await addProgress(this.db, this.job.id, { skipped: unchanged }))) throw new SyncCancelledError();
    if (changed.length > FAN_OUT_THRESHOLD) {
      await enqueueFileBatches(this.job.id, changed, WRITE_BATCH);
      await settleFileBatches(this.db, this.job.id, { throwOnFailure: true, whileWaiting: workOneFileBatch });
      return;
    }
    for (let i = 0; i < changed.length; i += WRITE_BATCH) {
      await throwIfCancelled(this.db, this.job.id);
      await this.processor.process(
        changed.slice(i, i + WRITE_BATCH).map((file) => ({ file, content: null })),
        existing,
      );
    }
  }

  private async deletePaths(paths: string[], existing: Map<string, IndexedFile>): Promise<void> {
    for (let i = 0; i < paths.length; i += WRITE_BATCH) {
      await throwIfCancelled(this.db, this.job.id);
      await deleteIndexedFiles(this.source.id, this.job.id, paths.slice(i, i + WRITE_BATCH), existing, this.pipeline, (d) => this.setDetail(d));
    }
  }

  private async finish(cursor: string | null): Promise<void> {
    await withTransaction(async (tx) => {
      const now = new Date();
      const [done] = await tx
        .update(syncJobs)
        .set({ status: "completed", progress: 100, detail: null, errorMessage: null, completedAt: now })
        .where(and(eq(syncJobs.id, this.job.id), eq(syncJobs.status, "running")))
        .returning({ id: syncJobs.id });
      if (!done) throw new SyncCancelledError();
      await tx.update(sources).set({ status: "synced", lastSyncAt: now, cursor, updatedAt: now }).where(eq(sources.id, this.source.id));
    });
  }

  private async setDetail(detail: string | null): Promise<void> {
    await this.db.update(syncJobs).set({ detail }).where(eq(syncJobs.id, this.job.id));
  }

  private providerCall<T>(call: () => Promise<T>): Promise<T> {
    return waitOutRateLimits(call, (detail) => this.setDetail(detail));
  }
}
