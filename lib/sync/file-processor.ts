import { createHash } from "node:crypto";
import { and, eq, like, or, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { files, type Source } from "@/lib/db/schema";
import { escapeLike } from "@/lib/db/escape-like";
import { StatementParameters } from "@/lib/db/statement-parameters";
import { ConnectorError } from "@/lib/connectors/errors";
import type { Connector, RemoteFile } from "@/lib/connectors/types";
import type { Pipeline } from "@/lib/pipeline/deliver";
import type { StoredChunk } from "@/lib/pipeline/chunk";
import { chunkCtes, chunkParameters, deliverChanges, pruneContents } from "@/lib/changes/deliver-changes";
import { ContentArena } from "@/lib/changes/content-arena";
import { deleteFilesCtes, gzipContents, recordedCtes, upsertChangeCtes } from "@/lib/changes/record-changes";
import { isBinary, type FileFilter } from "./filters";
import { isLfsPointer } from "@/lib/connectors/git/shared";
import { mapLimit } from "@/lib/map-limit";
import { FENCE_OK, FENCED, progressUnderFenceCtes, runFenced } from "./progress";
import { waitOutRateLimits } from "@/lib/connectors/wait-out-rate-limits";
import { countFiles } from "@/lib/metrics/counters";

/** Files of one batch read at once (SYNC_CONCURRENCY). */
export const DEFAULT_CONCURRENCY = Number(process.env.SYNC_CONCURRENCY ?? 10);

export type IndexedFile = { id: string; sha: string | null; size: number | null; providerVersion: string | null };
/** The longest path the index holds (files.path is varchar(1024)); a longer one is a failed file. */
export const MAX_PATH_LENGTH = 1024;
export type BatchEntry = { file: RemoteFile; content: Buffer | null };

type Outcome =
  | {
      kind: "deliver";
      file: RemoteFile;
      sha: string;
      size: number;
      language: string | null;
      lfs: boolean;
      content: Buffer;
    }
  | { kind: "same"; file: RemoteFile; sha: string; size: number; language: string | null; lfs: boolean }
  | { kind: "dropped"; path: string; reason: string; removed: IndexedFile | null }
  | { kind: "failed"; path: string; error: string };

/** dc_files_total, once a batch has committed: read again and equal counts as unchanged. */
function countFileOutcomes(outcomes: Outcome[]): void {
  const named = { deliver: "indexed", same: "unchanged", dropped: "skipped", failed: "failed" } as const;
  for (const o of outcomes) countFiles(named[o.kind]);
}

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The index rows of a source, or only those at (`exact`) or at and under `paths`. */
export async function loadIndex(
  sourceId: string,
  paths?: string[],
  options: { exact?: boolean } = {},
): Promise<Map<string, IndexedFile>> {
  const where = [eq(files.sourceId, sourceId)];
  if (paths) {
    if (paths.length === 0) return new Map();
    // One array parameter: a list of a batch's hundred paths costs the query builder more than the query.
    const conditions = [sql`${files.path} = any(${sql.param(paths)}::text[])`];
    if (!options.exact) for (const p of paths) conditions.push(like(files.path, `${escapeLike(p)}/%`));
    where.push(or(...conditions)!);
  }
  const rows = await getDb()
    .select({
      id: files.id,
      path: files.path,
      sha: files.sha,
      size: files.size,
      providerVersion: files.providerVersion,
    })
    .from(files)
    .where(and(...where));
  return new Map(rows.map((r) => [r.path, { id: r.id, sha: r.sha, size: r.size, providerVersion: r.providerVersion }]));
}

/**
 * Reads, checks and indexes one batch of files of one sync job, writing the batch in one
 * transaction under the attempt's fence: the rows, their changes in the outbox, the failures
 * and the job's counters; then delivers the batch's changes. Used inline by a sync and by the
 * process-file-batch job alike.
 */
export class FileProcessor {
  constructor(
    private readonly context: {
      jobId: string;
      /** The attempt's fencing generation (see lib/changes/fence). */
      fence: number;
      source: Source;
      connector: Connector;
      pipeline: Pipeline;
      filter: FileFilter;
      concurrency: number;
      setDetail: (detail: string | null) => Promise<void>;
    },
  ) {}

  /**
   * Processes `batch`. Throws SyncCancelledError, writing nothing, when the job stopped
   * running meanwhile (StaleAttemptError when the attempt was fenced off). Returns once the
   * batch's changes are delivered.
   */
  async process(batch: BatchEntry[], existing: Map<string, IndexedFile>): Promise<void> {
    const arena = new ContentArena();
    try {
      await this.processIn(arena, batch, existing);
    } finally {
      arena.release();
    }
  }

  /** process, with the contents to write held in `arena` until it returns. */
  private async processIn(arena: ContentArena, batch: BatchEntry[], existing: Map<string, IndexedFile>): Promise<void> {
    const { source, pipeline } = this.context;
    const outcomes = batch.length
      ? await mapLimit(batch, this.context.concurrency, ({ file, content }) =>
          this.processFile(arena, file, content, existing.get(file.path) ?? null),
        )
      : [];
    // The embedded pipeline sends nothing anywhere: its delivery (the chunks) is computed now and
    // written by the batch's own statement, its changes recorded as delivered there.
    const chunksByPath = new Map<string, StoredChunk[]>();
    if (pipeline.embedded) {
      for (const o of outcomes) {
        if (o.kind !== "deliver") continue;
        const file = { sourceId: source.id, path: o.file.path, sha: o.sha, language: o.language, content: o.content };
        chunksByPath.set(o.file.path, await pipeline.upsert(file));
      }
    }
    const garbage = await this.write(outcomes, chunksByPath);
    countFileOutcomes(outcomes);
    if (pipeline.embedded) return pruneContents(garbage);
    const touched = outcomes.flatMap((o) =>
      o.kind === "deliver" ? [o.file.path] : o.kind === "dropped" && o.removed ? [o.path] : [],
    );
    await deliverChanges({
      sourceId: source.id,
      fence: this.context.fence,
      jobId: this.context.jobId,
      pipeline,
      onWait: this.context.setDetail,
      paths: touched,
      concurrency: this.context.concurrency,
    });
  }

  /**
   * Writes a batch in one statement, under the attempt's fence (progressUnderFenceCtes): its
   * contents and changes, its failures, its `files` rows with their chunks, and the removal of
   * files the content checks now drop (grown too large, turned binary). One statement, not a
   * transaction of several: no transaction then holds the database while the worker, busy
   * reading other files, has yet to send its next statement (the embedded database runs one
   * transaction at a time). Returns content shas that may now be unreferenced.
   */
  private async write(outcomes: Outcome[], chunksByPath: Map<string, StoredChunk[]>): Promise<string[]> {
    const { jobId, source, fence, pipeline } = this.context;
    const rows = outcomes.filter((o) => o.kind === "deliver" || o.kind === "same");
    const delivering = outcomes.filter((o) => o.kind === "deliver");
    const upserts = delivering.map((o) => ({ path: o.file.path, sha: o.sha, size: o.size, language: o.language }));
    const failures = outcomes.filter((o) => o.kind === "failed");
    const removed = outcomes.flatMap((o) => (o.kind === "dropped" && o.removed !== null ? [o.path] : []));
    const skipped = outcomes.filter((o) => o.kind === "same" || o.kind === "dropped").length;
    const contents = await gzipContents(delivering);

    const p = new StatementParameters();
    const ctes = [
      progressUnderFenceCtes(
        p,
        jobId,
        { processed: upserts.length, failed: failures.length, skipped },
        { sourceId: source.id, fence },
      ),
    ];
    const options = { delivered: pipeline.embedded, gate: FENCE_OK };
    const recorded: string[] = [];
    if (upserts.length > 0) {
      ctes.push(upsertChangeCtes(p, FENCED, contents, upserts, options));
      recorded.push("upserted");
    }
    if (failures.length > 0) {
      ctes.push(`failed as (
         insert into sync_job_failures (job_id, path, error)
         select ${FENCED.job}, * from ${p.unnest(failures, [
           ["text[]", (f) => f.path],
           ["text[]", (f) => f.error],
         ])}
         where ${FENCE_OK}
         on conflict (job_id, path) do update set error = excluded.error
       )`);
    }
    if (rows.length > 0) ctes.push(this.filesCtes(p, rows, chunksByPath));
    if (removed.length > 0) {
      ctes.push(deleteFilesCtes(p, FENCED, removed, options));
      recorded.push("deleted");
    }
    const done = recordedCtes(recorded, FENCED, options);
    const { garbage } = await runFenced<{ garbage: string[] | null }>([...ctes, ...done.ctes], done.garbage, p);
    return garbage ?? [];
  }

  /**
   * The common table expressions that upsert the index rows of `rows` (arrays through unnest: a
   * handful of parameters, whatever the batch's size) as the relation `indexed`. With the
   * embedded pipeline a changed file is delivered by the same statement, so its delivered
   * version is set here too (null keeps the row's) and its chunks (`chunksByPath`) written.
   */
  private filesCtes(
    p: StatementParameters,
    rows: Extract<Outcome, { kind: "deliver" | "same" }>[],
    chunksByPath: Map<string, StoredChunk[]>,
  ): string {
    const embedded = this.context.pipeline.embedded;
    const now = new Date();
    const values = p.unnest(rows, [
      ["text[]", (o) => o.file.path],
      ["text[]", (o) => o.sha],
      ["bigint[]", (o) => o.size],
      ["text[]", (o) => o.language],
      ["timestamptz[]", (o) => o.file.lastModified ?? null],
      ["timestamptz[]", () => now],
      ["text[]", (o) => o.file.id ?? null],
      ["text[]", (o) => o.file.version],
      ["boolean[]", (o) => o.lfs],
      ["text[]", (o) => (embedded && o.kind === "deliver" ? o.sha : null)],
    ]);
    const indexed = `indexed as (
       insert into files (source_id, path, sha, size, language, last_modified, indexed_at, provider_id, provider_version, lfs, delivered_sha)
       select ${p.add(this.context.source.id, "uuid")}, * from ${values}
       where ${FENCE_OK}
       on conflict (source_id, path) do update set
         sha = excluded.sha, size = excluded.size, language = excluded.language, last_modified = excluded.last_modified,
         indexed_at = case when files.sha is distinct from excluded.sha then excluded.indexed_at else files.indexed_at end,
         provider_id = excluded.provider_id, provider_version = excluded.provider_version, lfs = excluded.lfs,
         delivered_sha = coalesce(excluded.delivered_sha, files.delivered_sha),
         delivery_error = case when excluded.delivered_sha is null then files.delivery_error end
       returning id, path, (xmax = 0) as inserted
     )`;
    const chunked = [...chunksByPath].map(([path, chunks]) => ({ path, chunks }));
    if (chunked.length === 0) return indexed;
    return `${indexed}, ${chunkCtes("indexed", p.addAll(chunkParameters(chunked)))}`;
  }

  private async processFile(
    arena: ContentArena,
    file: RemoteFile,
    given: Buffer | null,
    row: IndexedFile | null,
  ): Promise<Outcome> {
    const { filter, connector } = this.context;
    // Files take turns with I/O on the event loop: another batch's transaction, waiting for its
    // next statement (and holding the job's row), is not held up by a whole batch of reads.
    await new Promise(setImmediate);
    const dropped = (reason: string): Outcome => ({ kind: "dropped", path: file.path, reason, removed: row });
    if (file.path.length > MAX_PATH_LENGTH)
      return {
        kind: "failed",
        path: file.path,
        error: `The path is longer than 1,024 characters; the index cannot hold it.`,
      };
    const verdict = filter.checkPath(file.path);
    if (!verdict.keep) return dropped(verdict.reason);
    if (file.size !== null && file.size > filter.maxFileSize) return dropped(`larger than ${filter.maxFileSize} bytes`);
    let content: Buffer;
    try {
      content =
        given ?? (await waitOutRateLimits(() => connector.getFileContent(file.path, file), this.context.setDetail));
    } catch (err) {
      if (err instanceof ConnectorError && err.retryable) throw err;
      return { kind: "failed", path: file.path, error: (err as Error).message };
    }
    if (content.length > filter.maxFileSize) return dropped(`larger than ${filter.maxFileSize} bytes`);
    if (isBinary(content)) return dropped("binary content");
    const sha = sha256(content);
    const base = { file, sha, size: content.length, language: verdict.language, lfs: isLfsPointer(content) };
    if (row?.sha === sha) return { kind: "same", ...base };
    return { kind: "deliver", ...base, content: arena.hold(content) };
  }
}
