import { createHash } from "node:crypto";
import { and, eq, inArray, like, or, sql } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { chunks, files, pipelineDeliveries, sources, syncJobFailures, syncJobs, type Source, type SyncJob } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { ConnectorError, ConnectorRateLimitError } from "@/lib/connectors/errors";
import type { Connector, FileChange, RemoteFile } from "@/lib/connectors/types";
import type { TextChunk } from "@/lib/pipeline/chunk";
import { PipelineRejectedError, type Pipeline } from "@/lib/pipeline/deliver";
import { escapeLike } from "@/lib/db/escape-like";
import { createFileFilter, isBinary, type FileFilter, type FilterConfig } from "./filters";
import { mapLimit } from "./map-limit";

export const DEFAULT_CONCURRENCY = Number(process.env.SYNC_CONCURRENCY ?? 10);
/** Files written to the database in one transaction. */
const WRITE_BATCH = 100;
/** Rate-limit waits longer than this fail the attempt instead (pg-boss retries it later). */
const MAX_INLINE_WAIT_MS = 15 * 60_000;

export class SyncCancelledError extends Error {
  constructor() {
    super("The job was cancelled.");
    this.name = "SyncCancelledError";
  }
}

type IndexedFile = { id: string; sha: string | null; providerVersion: string | null };

type Outcome =
  | { kind: "deliver"; file: RemoteFile; sha: string; size: number; language: string | null; chunks: TextChunk[] }
  | { kind: "same"; file: RemoteFile; sha: string; size: number; language: string | null }
  | { kind: "dropped"; path: string; reason: string }
  | { kind: "failed"; path: string; error: string };

type Counters = { total: number; processed: number; skipped: number; failed: number };

type PathMatch = { path: string; subtree: boolean; ignoreCase: boolean };

function matchesPath(candidate: string, match: PathMatch): boolean {
  const [c, r] = match.ignoreCase ? [candidate.toLowerCase(), match.path.toLowerCase()] : [candidate, match.path];
  return c === r || (match.subtree && c.startsWith(`${r}/`));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * One attempt at one sync job. Everything it writes is keyed by (source, path) and compared
 * by hash first, so a retried attempt skips what an earlier one finished.
 */
export class SyncRun {
  private readonly filter: FileFilter;
  private readonly counters: Counters = { total: 0, processed: 0, skipped: 0, failed: 0 };
  /** Paths that passed every filter in this run: the index must hold exactly these. */
  private readonly kept = new Set<string>();
  /** Paths that could not be read: their previous rows stay until a run reads them. */
  private readonly failed = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly job: SyncJob,
    private readonly source: Source,
    private readonly connector: Connector,
    private readonly pipeline: Pipeline,
    private readonly concurrency = DEFAULT_CONCURRENCY,
  ) {
    this.filter = createFileFilter(source.config as FilterConfig);
  }

  async run(): Promise<void> {
    await this.db.update(syncJobs).set({ filesTotal: 0, filesProcessed: 0, filesSkipped: 0, filesFailed: 0, progress: 0 }).where(eq(syncJobs.id, this.job.id));
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
    const existing = await this.loadIndex();
    if (this.connector.streamFiles) {
      let slice: { file: RemoteFile; content: Buffer }[] = [];
      for await (const entry of this.connector.streamFiles()) {
        if (!this.filter.checkPath(entry.path).keep) continue;
        this.counters.total++;
        slice.push({ file: entry, content: entry.content });
        if (slice.length >= WRITE_BATCH) {
          await this.processSlice(slice, existing);
          slice = [];
        }
      }
      await this.processSlice(slice, existing);
    } else {
      const candidates: RemoteFile[] = [];
      for await (const file of this.connector.listFiles()) {
        if (this.filter.checkPath(file.path).keep) candidates.push(file);
      }
      this.counters.total = candidates.length;
      await this.processFiles(candidates, existing);
    }
    const orphans = [...existing.keys()].filter((p) => !this.kept.has(p) && !this.failed.has(p));
    this.counters.total += orphans.length;
    await this.deletePaths(orphans, existing);
    await this.finish(cursor);
  }

  /** Paths named by a watcher or webhook: a path may be a file, a folder, or gone. */
  private async named(paths: string[]): Promise<void> {
    const existing = await this.loadIndex(paths);
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
    // Later changes win: folded in order into what to index and what to remove.
    const upserts = new Map<string, { id?: string; file?: RemoteFile }>();
    const deletes = new Set<string>();
    const subtrees: PathMatch[] = [];
    const deletedIds = new Set<string>();
    for (const change of changes) {
      if (change.kind === "rename") {
        deletes.add(change.previousPath);
        upserts.delete(change.previousPath);
        upserts.set(change.path, {});
        deletes.delete(change.path);
      } else if (change.kind === "delete") {
        if (change.subtree || change.ignoreCase) {
          const match = { path: change.path, subtree: change.subtree ?? false, ignoreCase: change.ignoreCase ?? false };
          subtrees.push(match);
          for (const p of upserts.keys()) if (matchesPath(p, match)) upserts.delete(p);
        } else {
          deletes.add(change.path);
          upserts.delete(change.path);
        }
      } else if (change.kind === "delete-id") {
        deletedIds.add(change.id);
        for (const [p, u] of upserts) if (u.id === change.id) upserts.delete(p);
      } else {
        upserts.set(change.path, { id: change.id, file: change.file });
        deletes.delete(change.path);
        if (change.id) deletedIds.delete(change.id);
      }
    }
    const upsertIds = [...upserts.values()].flatMap((u) => (u.id ? [u.id] : []));
    const existing = await this.loadChangedRows([...upserts.keys(), ...deletes], subtrees, [...deletedIds, ...upsertIds]);
    const candidates: RemoteFile[] = [];
    for (const [p, { id, file }] of upserts) {
      if (!this.filter.checkPath(p).keep) continue;
      const meta = file ?? (await this.providerCall(() => this.connector.getFileMetadata(p)));
      if (meta) candidates.push(id && !meta.id ? { ...meta, id } : meta);
    }
    // Every loaded row that is not indexed again below is removed: deletions, the old paths of
    // renamed identities, and upserts that vanished or no longer pass the filters.
    await this.processAndPrune(candidates, existing);
    await this.finish(cursor);
  }

  /** Rows at these exact paths, at or under these subtrees, or carrying these provider ids. */
  private async loadChangedRows(paths: string[], subtrees: PathMatch[], ids: string[]): Promise<Map<string, IndexedFile>> {
    const conditions = [];
    if (paths.length > 0) conditions.push(inArray(files.path, paths));
    if (ids.length > 0) conditions.push(inArray(files.providerId, ids));
    for (const t of subtrees) {
      const under = `${escapeLike(t.path)}/%`;
      if (t.ignoreCase) {
        conditions.push(t.subtree ? sql`(lower(${files.path}) = lower(${t.path}) or lower(${files.path}) like lower(${under}))` : sql`lower(${files.path}) = lower(${t.path})`);
      } else {
        conditions.push(t.subtree ? or(eq(files.path, t.path), like(files.path, under))! : eq(files.path, t.path));
      }
    }
    if (conditions.length === 0) return new Map();
    const rows = await this.db
      .select({ id: files.id, path: files.path, sha: files.sha, providerVersion: files.providerVersion })
      .from(files)
      .where(and(eq(files.sourceId, this.source.id), or(...conditions)));
    return new Map(rows.map((r) => [r.path, { id: r.id, sha: r.sha, providerVersion: r.providerVersion }]));
  }

  /** Indexes `candidates`, then removes every row in `existing` that did not survive the filters. */
  private async processAndPrune(candidates: RemoteFile[], existing: Map<string, IndexedFile>): Promise<void> {
    const candidatePaths = new Set(candidates.map((f) => f.path));
    this.counters.total = candidates.length + [...existing.keys()].filter((p) => !candidatePaths.has(p)).length;
    await this.processFiles(candidates, existing);
    const gone = [...existing.keys()].filter((p) => !this.kept.has(p) && !this.failed.has(p));
    this.counters.total = this.counters.processed + this.counters.skipped + this.counters.failed + gone.length;
    await this.deletePaths(gone, existing);
  }

  /** The current index rows of the source, or only those at or under `paths`. */
  private async loadIndex(paths?: string[], options: { exact?: boolean } = {}): Promise<Map<string, IndexedFile>> {
    const where = [eq(files.sourceId, this.source.id)];
    if (paths) {
      if (paths.length === 0) return new Map();
      const conditions = [inArray(files.path, paths)];
      if (!options.exact) for (const p of paths) conditions.push(like(files.path, `${escapeLike(p)}/%`));
      where.push(or(...conditions)!);
    }
    const rows = await this.db
      .select({ id: files.id, path: files.path, sha: files.sha, providerVersion: files.providerVersion })
      .from(files)
      .where(and(...where));
    return new Map(rows.map((r) => [r.path, { id: r.id, sha: r.sha, providerVersion: r.providerVersion }]));
  }

  private async processFiles(candidates: RemoteFile[], existing: Map<string, IndexedFile>): Promise<void> {
    const changed: RemoteFile[] = [];
    let unchanged = 0;
    for (const file of candidates) {
      const row = existing.get(file.path);
      if (row && file.version !== null && row.providerVersion === file.version) {
        this.kept.add(file.path);
        unchanged++;
      } else {
        changed.push(file);
      }
    }
    if (unchanged > 0) {
      this.counters.skipped += unchanged;
      await this.saveProgress(this.db);
    }
    for (let i = 0; i < changed.length; i += WRITE_BATCH) {
      await this.processSlice(
        changed.slice(i, i + WRITE_BATCH).map((file) => ({ file, content: null })),
        existing,
      );
    }
  }

  private async processSlice(slice: { file: RemoteFile; content: Buffer | null }[], existing: Map<string, IndexedFile>): Promise<void> {
    if (slice.length === 0) return;
    await this.throwIfCancelled();
    const outcomes = await mapLimit(slice, this.concurrency, ({ file, content }) => this.processFile(file, content, existing.get(file.path)));
    await withTransaction(async (tx) => {
      const rows = outcomes.filter((o) => o.kind === "deliver" || o.kind === "same");
      const now = new Date();
      if (rows.length > 0) {
        const written = await tx
          .insert(files)
          .values(
            rows.map((o) => ({
              sourceId: this.source.id,
              path: o.file.path,
              sha: o.sha,
              size: o.size,
              language: o.language,
              lastModified: o.file.lastModified ?? null,
              indexedAt: now,
              providerId: o.file.id ?? null,
              providerVersion: o.file.version,
            })),
          )
          .onConflictDoUpdate({
            target: [files.sourceId, files.path],
            set: {
              sha: sql`excluded.sha`,
              size: sql`excluded.size`,
              language: sql`excluded.language`,
              lastModified: sql`excluded.last_modified`,
              indexedAt: sql`case when files.sha is distinct from excluded.sha then excluded.indexed_at else files.indexed_at end`,
              providerId: sql`excluded.provider_id`,
              providerVersion: sql`excluded.provider_version`,
            },
          })
          .returning({ id: files.id, path: files.path });
        const idByPath = new Map(written.map((w) => [w.path, w.id]));
        const delivered = outcomes.filter((o): o is Extract<Outcome, { kind: "deliver" }> => o.kind === "deliver");
        if (delivered.length > 0) {
          const ids = delivered.map((o) => idByPath.get(o.file.path)!);
          await tx.delete(chunks).where(inArray(chunks.fileId, ids));
          const chunkRows = delivered.flatMap((o) => o.chunks.map((c) => ({ fileId: idByPath.get(o.file.path)!, ...c })));
          for (let i = 0; i < chunkRows.length; i += 1000) await tx.insert(chunks).values(chunkRows.slice(i, i + 1000));
          await tx.insert(pipelineDeliveries).values(
            delivered.map((o) => ({ sourceId: this.source.id, jobId: this.job.id, path: o.file.path, sha: o.sha, op: "upsert", deliveredAt: now })),
          );
        }
      }
      const failures = outcomes.filter((o): o is Extract<Outcome, { kind: "failed" }> => o.kind === "failed");
      if (failures.length > 0) {
        await tx
          .insert(syncJobFailures)
          .values(failures.map((f) => ({ jobId: this.job.id, path: f.path, error: f.error })))
          .onConflictDoUpdate({ target: [syncJobFailures.jobId, syncJobFailures.path], set: { error: sql`excluded.error` } });
      }
      for (const o of outcomes) {
        if (o.kind === "deliver") this.counters.processed++;
        else if (o.kind === "failed") this.counters.failed++;
        else this.counters.skipped++;
      }
      await this.saveProgress(tx);
    });
  }

  private async processFile(file: RemoteFile, given: Buffer | null, row: IndexedFile | undefined): Promise<Outcome> {
    const verdict = this.filter.checkPath(file.path);
    if (!verdict.keep) return { kind: "dropped", path: file.path, reason: verdict.reason };
    if (file.size !== null && file.size > this.filter.maxFileSize) {
      return { kind: "dropped", path: file.path, reason: `larger than ${this.filter.maxFileSize} bytes` };
    }
    let content: Buffer;
    try {
      content = given ?? (await this.providerCall(() => this.connector.getFileContent(file.path)));
    } catch (err) {
      if (err instanceof ConnectorError && err.retryable) throw err;
      this.failed.add(file.path);
      return { kind: "failed", path: file.path, error: (err as Error).message };
    }
    if (content.length > this.filter.maxFileSize) {
      return { kind: "dropped", path: file.path, reason: `larger than ${this.filter.maxFileSize} bytes` };
    }
    if (isBinary(content)) return { kind: "dropped", path: file.path, reason: "binary content" };
    this.kept.add(file.path);
    const sha = sha256(content);
    const base = { file, sha, size: content.length, language: verdict.language };
    if (row?.sha === sha) return { kind: "same", ...base };
    try {
      const textChunks = await this.pipeline.upsert(
        { sourceId: this.source.id, path: file.path, sha, language: verdict.language, content },
        (detail) => this.setDetail(detail),
      );
      return { kind: "deliver", ...base, chunks: textChunks };
    } catch (err) {
      if (!(err instanceof PipelineRejectedError)) throw err;
      this.kept.delete(file.path);
      this.failed.add(file.path);
      return { kind: "failed", path: file.path, error: err.message };
    }
  }

  private async deletePaths(paths: string[], existing: Map<string, IndexedFile>): Promise<void> {
    for (let i = 0; i < paths.length; i += WRITE_BATCH) {
      await this.throwIfCancelled();
      const slice = paths.slice(i, i + WRITE_BATCH);
      for (const p of slice) {
        await this.pipeline.delete({ sourceId: this.source.id, path: p, sha: existing.get(p)?.sha ?? null }, (detail) => this.setDetail(detail));
      }
      await withTransaction(async (tx) => {
        const removed = await tx
          .delete(files)
          .where(and(eq(files.sourceId, this.source.id), inArray(files.path, slice)))
          .returning({ path: files.path, sha: files.sha });
        if (removed.length > 0) {
          await tx.insert(pipelineDeliveries).values(
            removed.map((r) => ({ sourceId: this.source.id, jobId: this.job.id, path: r.path, sha: r.sha, op: "delete", deliveredAt: new Date() })),
          );
        }
        this.counters.processed += slice.length;
        await this.saveProgress(tx);
      });
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

  private async saveProgress(db: Db): Promise<void> {
    const { total, processed, skipped, failed } = this.counters;
    const done = processed + skipped + failed;
    const progress = total === 0 ? 0 : Math.min(99, Math.floor((done * 100) / total));
    await db
      .update(syncJobs)
      .set({ filesTotal: total, filesProcessed: processed, filesSkipped: skipped, filesFailed: failed, progress })
      .where(eq(syncJobs.id, this.job.id));
  }

  private async setDetail(detail: string | null): Promise<void> {
    await this.db.update(syncJobs).set({ detail }).where(eq(syncJobs.id, this.job.id));
  }

  private async throwIfCancelled(): Promise<void> {
    const [row] = await this.db.select({ status: syncJobs.status }).from(syncJobs).where(eq(syncJobs.id, this.job.id));
    if (row?.status !== "running") throw new SyncCancelledError();
  }

  /** A provider call that waits out rate limits (visible on the job) instead of failing. */
  private async providerCall<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof ConnectorRateLimitError)) throw err;
        const wait = err.retryAt.getTime() - Date.now();
        if (wait > MAX_INLINE_WAIT_MS) throw err;
        await this.setDetail(`waiting for rate limit until ${err.retryAt.toISOString()}`);
        await sleep(Math.max(0, wait) + Math.random() * 250);
        await this.setDetail(null);
      }
    }
  }
}
