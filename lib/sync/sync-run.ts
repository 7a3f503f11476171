import { and, eq, inArray, like, or, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources, syncJobs, type Source, type SyncJob } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { escapeLike } from "@/lib/db/escape-like";
import { files } from "@/lib/db/schema";
import { ConnectorError } from "@/lib/connectors/errors";
import type { Connector, FileChange, RemoteFile } from "@/lib/connectors/types";
import type { Pipeline } from "@/lib/pipeline/deliver";
import { deliverChanges, requeueRefused } from "@/lib/changes/deliver-changes";
import { assertFence } from "@/lib/changes/fence";
import { deleteIndexedFiles } from "./delete-files";
import { checkDeletionGuard, deletionGuardHolds } from "./deletion-guard";
import { DEFAULT_CONCURRENCY, FileProcessor, loadIndex, type BatchEntry, type IndexedFile } from "./file-processor";
import { batchLimits, BatchMeter, fanOutThreshold, splitIntoBatches } from "./batch-limits";
import { enqueueFileBatches, FileBatchFanOut, settleFileBatches } from "./file-batches";
import { keepUnreadable } from "./listing-failures";
import { createFileFilter, type FileFilter, type FilterConfig } from "./filters";
import { SyncCancelledError } from "@/lib/changes/attempt-errors";
import { addProgress, resetProgress, setJobDetail, setTotal, throwIfCancelled } from "./progress";
import type { SyncQueue } from "./sync-queue";
import { waitOutRateLimits } from "@/lib/connectors/wait-out-rate-limits";
import { countFiles } from "@/lib/metrics/counters";
import { errorField, syncLogger } from "@/lib/log";

type PathMatch = { path: string; subtree: boolean; ignoreCase: boolean };

function matchesPath(candidate: string, match: PathMatch): boolean {
  const [c, r] = match.ignoreCase ? [candidate.toLowerCase(), match.path.toLowerCase()] : [candidate, match.path];
  return c === r || (match.subtree && c.startsWith(`${r}/`));
}
/**
 * From this many changed files on, a connector that can stream an archive (git hosts) reads
 * them from one download instead of one request per file.
 */
const ARCHIVE_MIN_FILES = Number(process.env.SYNC_ARCHIVE_MIN_FILES ?? 25);
/** SYNC_GIT_ARCHIVE=off forces the tree-plus-file route (the benchmark's comparison). */
const ARCHIVE_ENABLED = process.env.SYNC_GIT_ARCHIVE !== "off";

/**
 * One attempt at one sync job. Everything it writes is keyed by (source, path) and compared
 * by provider version and hash first, so a retried attempt skips what an earlier one finished.
 */
export class SyncRun {
  private readonly filter: FileFilter;
  private readonly processor: FileProcessor;

  constructor(
    private readonly queue: SyncQueue,
    private readonly job: SyncJob,
    private readonly source: Source,
    private readonly connector: Connector,
    private readonly pipeline: Pipeline,
    /** This attempt's fencing generation: its writes and deliveries are refused once it moves on. */
    private readonly fence: number,
    private readonly concurrency = DEFAULT_CONCURRENCY,
  ) {
    this.filter = createFileFilter(source.config as FilterConfig);
    this.processor = new FileProcessor({
      jobId: job.id,
      fence,
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
    await settleFileBatches(this.queue, this.job.id, { clear: true });
    await resetProgress(this.job.id);
    if (this.job.type === "full") return this.full();
    if (this.job.paths?.length) {
      if (this.job.trigger === "retry") await requeueRefused(this.source.id, this.job.paths);
      return this.named(this.job.paths);
    }
    if (this.connector.getChanges && this.source.cursor) {
      const delta = await this.providerCall(() => this.connector.getChanges!(this.source.cursor!));
      if (!delta.reset) return this.applyChanges(delta.changes, delta.cursor);
    }
    // No delta feed (or a void cursor): compare everything; unchanged files cost no read.
    return this.full();
  }

  private async full(): Promise<void> {
    const cursor = await this.providerCall(() => this.connector.currentCursor());
    // Read while the listing runs, unless a first sync's archive needs to know it is one.
    const indexed = loadIndex(this.source.id);
    indexed.catch(() => {});
    let existing = this.connector.streamFiles ? await indexed : new Map<string, IndexedFile>();
    // A first sync of a git host reads one archive and nothing else (no listing: on GitLab
    // and Bitbucket a 10,000-file tree is 100 pages). Re-syncs list the tree and read only the
    // blobs whose SHA differs from the index.
    const listed = new Set<string>();
    if (existing.size === 0 && ARCHIVE_ENABLED && this.connector.streamFiles) {
      const { complete } = await this.processFromArchive(null, existing, listed);
      if (complete) return this.finish(cursor);
    }
    const candidates: RemoteFile[] = [];
    // A connector read file by file fans the changed files out while the listing goes on.
    const fanOut = this.connector.streamFiles
      ? null
      : new FileBatchFanOut(this.queue, this.job.id, this.fence, fanOutThreshold(), () =>
          // Batches are written before the listing ends: the total so far, or the last sync's.
          setTotal(this.job.id, Math.max(candidates.length, this.source.fileCount ?? 0)),
        );
    const read: { index: Map<string, IndexedFile> | null } = { index: null };
    void indexed.then((rows) => (read.index = rows)).catch(() => {});
    // Which listed files changed is known once the index is read: until then they wait here.
    const unsorted: RemoteFile[] = [];
    let changed = 0;
    let seen = 0;
    // Once the files listed so far leave too few to vanish for the guard to hold, it stays so.
    let guardCleared = false;
    for await (const file of this.connector.listFiles()) {
      if (!this.filter.checkPath(file.path).keep || listed.has(file.path)) continue;
      candidates.push(file);
      if (!fanOut) continue;
      unsorted.push(file);
      const { index } = read;
      if (!index) continue;
      for (const f of unsorted.splice(0)) {
        if (index.has(f.path)) seen++;
        if (!this.isChanged(f, index)) continue;
        changed++;
        guardCleared ||= this.deletionGuardCleared(index.size, seen);
        await fanOut.add(f, !guardCleared);
      }
    }
    for (const file of candidates) listed.add(file.path);
    existing = await indexed;
    await keepUnreadable(this.job.id, this.connector, existing);
    const orphans = [...existing.keys()].filter((p) => !listed.has(p));
    this.guardDeletions(orphans, candidates, existing, existing.size);
    await setTotal(this.job.id, listed.size);
    if (fanOut) {
      for (const f of unsorted) {
        if (!this.isChanged(f, existing)) continue;
        changed++;
        await fanOut.add(f, false);
      }
      await this.addUnchanged(candidates.length - changed);
      await this.processChanged(await fanOut.end(), existing);
      if (fanOut.fannedOut)
        await settleFileBatches(this.queue, this.job.id, { throwOnFailure: true, workWhileWaiting: true });
    } else {
      await this.processFiles(candidates, existing, { wholeListing: true });
    }
    await setTotal(this.job.id, { remaining: orphans.length });
    await this.deletePaths(orphans, existing);
    await this.finish(cursor);
  }

  /**
   * Whether the deletion guard can no longer stop this sync, so that files may be written
   * while the listing goes on: `seen` of the `indexed` files are listed so far, and no more
   * than the rest can vanish.
   */
  private deletionGuardCleared(indexed: number, seen: number): boolean {
    return this.job.confirmDeletes || !deletionGuardHolds({ vanished: indexed - seen, indexed });
  }

  /** Paths named by a watcher or webhook: a path may be a file, a folder, or gone. */
  private async named(paths: string[]): Promise<void> {
    const existing = await loadIndex(this.source.id, paths);
    const candidates = new Map<string, RemoteFile>();
    for (const p of paths) {
      const meta = await this.providerCall(() => this.connector.getFileMetadata(p));
      if (meta) candidates.set(meta.path, meta);
      else for await (const child of this.connector.listFiles(p, true)) candidates.set(child.path, child);
    }
    const keep = [...candidates.values()].filter((f) => this.filter.checkPath(f.path).keep);
    await keepUnreadable(this.job.id, this.connector, existing);
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
        upserts.set(change.path, { file: change.file });
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
    const existing = await this.loadChangedRows([...upserts.keys(), ...deletes], subtrees, [
      ...deletedIds,
      ...upsertIds,
    ]);
    // Many changed paths without a version (GitLab's compare names no blob): one archive
    // answers them all, instead of one metadata request each.
    const unknown = [...upserts].filter(([p, u]) => !u.file && this.filter.checkPath(p).keep).length;
    const viaArchive = ARCHIVE_ENABLED && !!this.connector.streamFiles && unknown >= ARCHIVE_MIN_FILES;
    const candidates: RemoteFile[] = [];
    for (const [p, { id, file }] of upserts) {
      if (!this.filter.checkPath(p).keep) continue;
      if (viaArchive && !file) {
        candidates.push({ path: p, size: null, version: null });
        continue;
      }
      const meta = file ?? (await this.providerCall(() => this.connector.getFileMetadata(p)));
      if (meta) candidates.push(id && !meta.id ? { ...meta, id } : meta);
    }
    // Every loaded row that is not indexed again below is removed: deletions, the old paths of
    // renamed identities, and upserts that vanished or no longer pass the filters.
    await this.processAndPrune(candidates, existing);
    await this.finish(cursor);
  }

  /** Rows at these exact paths, at or under these subtrees, or carrying these provider ids. */
  private async loadChangedRows(
    paths: string[],
    subtrees: PathMatch[],
    ids: string[],
  ): Promise<Map<string, IndexedFile>> {
    const conditions = [];
    if (paths.length > 0) conditions.push(inArray(files.path, paths));
    if (ids.length > 0) conditions.push(inArray(files.providerId, ids));
    for (const t of subtrees) {
      const under = `${escapeLike(t.path)}/%`;
      if (t.ignoreCase) {
        conditions.push(
          t.subtree
            ? sql`(lower(${files.path}) = lower(${t.path}) or lower(${files.path}) like lower(${under}))`
            : sql`lower(${files.path}) = lower(${t.path})`,
        );
      } else {
        conditions.push(t.subtree ? or(eq(files.path, t.path), like(files.path, under))! : eq(files.path, t.path));
      }
    }
    if (conditions.length === 0) return new Map();
    const rows = await getDb()
      .select({
        id: files.id,
        path: files.path,
        sha: files.sha,
        size: files.size,
        providerVersion: files.providerVersion,
      })
      .from(files)
      .where(and(eq(files.sourceId, this.source.id), or(...conditions)));
    return new Map(
      rows.map((r) => [r.path, { id: r.id, sha: r.sha, size: r.size, providerVersion: r.providerVersion }]),
    );
  }

  /** Indexes `candidates`, then removes every row in `existing` that is not one of them. */
  private async processAndPrune(candidates: RemoteFile[], existing: Map<string, IndexedFile>): Promise<void> {
    const candidatePaths = new Set(candidates.map((f) => f.path));
    const gone = [...existing.keys()].filter((p) => !candidatePaths.has(p));
    this.guardDeletions(gone, candidates, existing, this.source.fileCount);
    await setTotal(this.job.id, candidates.length + gone.length);
    await this.processFiles(candidates, existing);
    await this.deletePaths(gone, existing);
  }

  /**
   * Whether `file` must be read: an unchanged version is skipped unread only while it still
   * passes every check (a lower size cap drops indexed files without any change at the source).
   * A repair queued by a verify trusts no version where an archive can re-read everything at
   * once: the verify hashed content (Bitbucket) and may have found it differing under an equal
   * version.
   */
  private isChanged(file: RemoteFile, existing: Map<string, IndexedFile>): boolean {
    const maxSize = this.filter.maxFileSize;
    const trustVersions = !(this.job.trigger === "verify" && this.connector.streamFiles);
    const row = existing.get(file.path);
    const unchanged = trustVersions && row && file.version !== null && row.providerVersion === file.version;
    return !(unchanged && (row.size ?? 0) <= maxSize && (file.size ?? 0) <= maxSize);
  }

  private async addUnchanged(unchanged: number): Promise<void> {
    if (unchanged > 0 && !(await addProgress(getDb(), this.job.id, { skipped: unchanged })))
      throw new SyncCancelledError();
    countFiles("unchanged", unchanged);
  }

  private async processFiles(
    candidates: RemoteFile[],
    existing: Map<string, IndexedFile>,
    options: { wholeListing?: boolean } = {},
  ): Promise<void> {
    const changed = candidates.filter((file) => this.isChanged(file, existing));
    await this.addUnchanged(candidates.length - changed.length);
    // One archive costs two requests but carries every file: worth it for many changed files,
    // or for a first sync of the whole listing.
    const useArchive =
      ARCHIVE_ENABLED &&
      !!this.connector.streamFiles &&
      changed.length > 2 &&
      (changed.length >= ARCHIVE_MIN_FILES || (options.wholeListing && existing.size === 0));
    const remaining = useArchive ? (await this.processFromArchive(changed, existing)).rest : changed;
    await this.processChanged(remaining, existing);
  }

  /** Indexes changed files: fanned out to process-file-batch jobs when many, else here. */
  private async processChanged(changed: RemoteFile[], existing: Map<string, IndexedFile>): Promise<void> {
    if (changed.length > fanOutThreshold()) {
      await enqueueFileBatches(this.queue, this.job.id, this.fence, changed);
      await settleFileBatches(this.queue, this.job.id, { throwOnFailure: true, workWhileWaiting: true });
      return;
    }
    for (const batch of splitIntoBatches(changed, (f) => f.size)) {
      await throwIfCancelled(this.job.id);
      await this.processor.process(
        batch.map((file) => ({ file, content: null })),
        existing,
      );
    }
  }

  /**
   * Reads files out of one archive download instead of one request each: the `changed` ones,
   * or (null) every file the filters keep, adding them to `listed`. The archive streams by;
   * entries not wanted are skipped unread, so memory holds one slice. Returns the wanted
   * files the archive did not deliver (then read one by one) and whether it was read to its end.
   */
  private async processFromArchive(
    changed: RemoteFile[] | null,
    existing: Map<string, IndexedFile>,
    listed?: Set<string>,
  ): Promise<{ rest: RemoteFile[]; complete: boolean }> {
    const wanted = changed ? new Map(changed.map((f) => [f.path, f])) : null;
    const maxSize = this.filter.maxFileSize;
    const accept = (p: string, size: number) =>
      size <= maxSize && (wanted ? wanted.has(p) : this.filter.checkPath(p).keep);
    let slice: BatchEntry[] = [];
    const meter = new BatchMeter();
    const flush = async () => {
      if (listed) await setTotal(this.job.id, listed.size);
      await this.processor.process(slice, existing);
      slice = [];
      meter.reset();
    };
    let complete = false;
    try {
      // A rate-limited archive request (GitLab allows 5 a minute) is waited out and asked
      // again: the answer is a status, before any entry, and the one-by-one route costs far more.
      await this.providerCall(async () => {
        for await (const entry of this.connector.streamFiles!({ accept, wanted: changed ?? undefined })) {
          if (!accept(entry.path, entry.size ?? 0)) continue;
          const fromListing = wanted?.get(entry.path);
          wanted?.delete(entry.path);
          listed?.add(entry.path);
          const { content, ...remote } = entry;
          slice.push({
            file: fromListing
              ? { ...fromListing, version: fromListing.version ?? remote.version, size: remote.size }
              : remote,
            content,
          });
          if (meter.add(content.length)) await flush();
        }
      });
      complete = true;
    } catch (err) {
      if (err instanceof SyncCancelledError || !(err instanceof ConnectorError)) throw err;
      // The tree-plus-file route still works when the archive does not (refused, cut off).
      syncLogger({ sourceId: this.source.id, jobId: this.job.id, provider: this.source.type }).warn(
        { error: errorField(err) },
        "archive unavailable: reading files one by one",
      );
    }
    if (slice.length > 0) await flush();
    return { rest: wanted ? [...wanted.values()] : [], complete };
  }

  /**
   * Before anything of this sync is written or delivered: refuses to remove too many files at
   * once unless the job confirms deletions. Paths the current filters drop are the user's choice.
   */
  private guardDeletions(
    removing: string[],
    candidates: RemoteFile[],
    existing: Map<string, IndexedFile>,
    indexed: number,
  ): void {
    if (this.job.confirmDeletes) return;
    const vanished = removing.filter((p) => this.filter.checkPath(p).keep).length;
    const added = candidates.filter((f) => !existing.has(f.path)).length;
    checkDeletionGuard(this.source.id, { vanished, added, indexed: Math.max(indexed, vanished) });
  }

  private async deletePaths(paths: string[], existing: Map<string, IndexedFile>): Promise<void> {
    const { files: size } = batchLimits();
    for (let i = 0; i < paths.length; i += size) {
      await throwIfCancelled(this.job.id);
      await deleteIndexedFiles(
        this.source.id,
        this.job.id,
        paths.slice(i, i + size),
        existing,
        this.pipeline,
        (d) => this.setDetail(d),
        this.fence,
      );
    }
  }

  private async finish(cursor: string | null): Promise<void> {
    // Completed means delivered: what an earlier attempt committed but never delivered goes now.
    await deliverChanges({
      sourceId: this.source.id,
      fence: this.fence,
      jobId: this.job.id,
      pipeline: this.pipeline,
      onWait: (d) => this.setDetail(d),
      concurrency: this.concurrency,
    });
    await withTransaction(async (tx) => {
      const now = new Date();
      const [done] = await tx
        .update(syncJobs)
        .set({ status: "completed", progress: 100, detail: null, errorMessage: null, completedAt: now })
        .where(and(eq(syncJobs.id, this.job.id), eq(syncJobs.status, "running")))
        .returning({ id: syncJobs.id });
      if (!done) throw new SyncCancelledError();
      await assertFence(tx, this.source.id, this.fence);
      // A repository renamed or transferred meanwhile is followed under its new name.
      const moved = this.connector.movedConfig?.();
      await tx
        .update(sources)
        .set({
          status: "synced",
          statusDetail: null,
          lastSyncAt: now,
          cursor,
          updatedAt: now,
          ...(moved ? { config: { ...this.source.config, ...moved } } : {}),
        })
        .where(eq(sources.id, this.source.id));
    });
  }

  private setDetail(detail: string | null): Promise<void> {
    return setJobDetail(this.job.id, detail);
  }

  private providerCall<T>(call: () => Promise<T>): Promise<T> {
    return waitOutRateLimits(call, (detail) => this.setDetail(detail));
  }
}
