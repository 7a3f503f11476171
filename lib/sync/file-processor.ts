import { createHash } from "node:crypto";
import { and, eq, inArray, like, or, sql } from "drizzle-orm";
import { getDb, type Db } from "@/lib/db/client";
import { files, syncJobFailures, type Source } from "@/lib/db/schema";
import { escapeLike } from "@/lib/db/escape-like";
import { withTransaction } from "@/lib/db/transaction";
import { ConnectorError } from "@/lib/connectors/errors";
import type { Connector, RemoteFile } from "@/lib/connectors/types";
import type { Pipeline } from "@/lib/pipeline/deliver";
import type { StoredChunk } from "@/lib/pipeline/chunk";
import type pg from "pg";
import { chunkCtes, chunkParameters, deliverChanges, pruneContents } from "@/lib/changes/deliver-changes";
import { gzipContents, recordDeletes, recordUpserts } from "@/lib/changes/record-changes";
import { isBinary, type FileFilter } from "./filters";
import { isLfsPointer } from "@/lib/connectors/git/shared";
import { mapLimit } from "@/lib/map-limit";
import { addProgressUnderFence } from "./progress";
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
   * running meanwhile (StaleAttemptError when the attempt was fenced off); `inTransaction`
   * runs last in the batch's transaction. Returns once the batch's changes are delivered.
   */
  async process(
    batch: BatchEntry[],
    existing: Map<string, IndexedFile>,
    inTransaction?: (tx: Db) => Promise<void>,
  ): Promise<void> {
    const { jobId, source } = this.context;
    const outcomes = batch.length
      ? await mapLimit(batch, this.context.concurrency, ({ file, content }) =>
          this.processFile(file, content, existing.get(file.path) ?? null),
        )
      : [];
    const context = { sourceId: source.id, ownerId: source.userId, jobId };
    const { pipeline } = this.context;
    // The embedded pipeline sends nothing anywhere: its delivery (the chunks) is computed now and
    // written in the batch's own transaction, its changes recorded as delivered there.
    const chunksByPath = new Map<string, StoredChunk[]>();
    if (pipeline.embedded) {
      for (const o of outcomes) {
        if (o.kind !== "deliver") continue;
        const file = { sourceId: source.id, path: o.file.path, sha: o.sha, language: o.language, content: o.content };
        chunksByPath.set(o.file.path, await pipeline.upsert(file));
      }
    }
    const delivered = { delivered: pipeline.embedded };
    const rows = outcomes.filter((o) => o.kind === "deliver" || o.kind === "same");
    const upserts = outcomes.flatMap((o) =>
      o.kind === "deliver" ? [{ path: o.file.path, sha: o.sha, size: o.size, language: o.language }] : [],
    );
    const contents = gzipContents(outcomes.flatMap((o) => (o.kind === "deliver" ? [o] : [])));
    const failures = outcomes.filter((o): o is Extract<Outcome, { kind: "failed" }> => o.kind === "failed");
    const removed = outcomes.filter(
      (o): o is Extract<Outcome, { kind: "dropped" }> => o.kind === "dropped" && o.removed !== null,
    );
    // A round trip inside the transaction is time the embedded database, which runs one
    // transaction at a time, waits: the batch is written in a few statements.
    const garbage = await withTransaction(async (tx, _executor, client) => {
      // First what locks no row another batch of the job needs (a stale attempt's writes roll
      // back at the fence below): the contents and the changes, and the failures, overlap the
      // locked part of another batch.
      const garbage = await recordUpserts(client, context, contents, upserts, delivered);
      if (failures.length > 0) {
        await tx
          .insert(syncJobFailures)
          .values(failures.map((f) => ({ jobId, path: f.path, error: f.error })))
          .onConflictDoUpdate({
            target: [syncJobFailures.jobId, syncJobFailures.path],
            set: { error: sql`excluded.error` },
          });
      }
      // Then the job's row, so that batches of one job commit their files one after the other
      // and none after a cancel, and the source's (the fence; the file count). Held to the commit.
      await addProgressUnderFence(
        tx,
        jobId,
        {
          processed: upserts.length,
          failed: failures.length,
          skipped: outcomes.filter((o) => o.kind === "same" || o.kind === "dropped").length,
        },
        { sourceId: source.id, fence: this.context.fence },
      );
      if (rows.length > 0) await this.writeFiles(client, rows, chunksByPath);
      // A file that the content checks now drop (grown too large, turned binary) leaves the index.
      if (removed.length > 0) {
        await tx.delete(files).where(
          and(
            eq(files.sourceId, source.id),
            inArray(
              files.path,
              removed.map((o) => o.path),
            ),
          ),
        );
        const deletes = removed.map((o) => ({ path: o.path, sha: o.removed!.sha }));
        garbage.push(...(await recordDeletes(client, context, deletes, delivered)));
      }
      await inTransaction?.(tx);
      return garbage;
    });
    countFileOutcomes(outcomes);
    if (pipeline.embedded) return pruneContents(garbage);
    const touched = outcomes.flatMap((o) =>
      o.kind === "deliver" ? [o.file.path] : o.kind === "dropped" && o.removed ? [o.path] : [],
    );
    await deliverChanges({
      sourceId: source.id,
      fence: this.context.fence,
      jobId,
      pipeline,
      onWait: this.context.setDetail,
      paths: touched,
      concurrency: this.context.concurrency,
    });
  }

  /**
   * Upserts the index rows of `rows` in one statement, arrays through unnest: a handful of
   * parameters per batch, whatever its size. With the embedded pipeline a changed file is
   * delivered in this transaction, so its delivered version is set here too (null keeps the
   * row's) and its chunks (`chunksByPath`) are written by the same statement.
   */
  private async writeFiles(
    client: pg.PoolClient,
    rows: Extract<Outcome, { kind: "deliver" | "same" }>[],
    chunksByPath: Map<string, StoredChunk[]>,
  ): Promise<void> {
    const embedded = this.context.pipeline.embedded;
    const upsert = `insert into files (source_id, path, sha, size, language, last_modified, indexed_at, provider_id, provider_version, lfs, delivered_sha)
       select $1, * from unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::boolean[], $11::text[])
       on conflict (source_id, path) do update set
         sha = excluded.sha, size = excluded.size, language = excluded.language, last_modified = excluded.last_modified,
         indexed_at = case when files.sha is distinct from excluded.sha then excluded.indexed_at else files.indexed_at end,
         provider_id = excluded.provider_id, provider_version = excluded.provider_version, lfs = excluded.lfs,
         delivered_sha = coalesce(excluded.delivered_sha, files.delivered_sha),
         delivery_error = case when excluded.delivered_sha is null then files.delivery_error end`;
    const now = new Date();
    const values = [
      this.context.source.id,
      rows.map((o) => o.file.path),
      rows.map((o) => o.sha),
      rows.map((o) => o.size),
      rows.map((o) => o.language),
      rows.map((o) => o.file.lastModified ?? null),
      rows.map(() => now),
      rows.map((o) => o.file.id ?? null),
      rows.map((o) => o.file.version),
      rows.map((o) => o.lfs),
      rows.map((o) => (embedded && o.kind === "deliver" ? o.sha : null)),
    ];
    const chunked = [...chunksByPath].map(([path, chunks]) => ({ path, chunks }));
    if (chunked.length === 0) {
      await client.query(upsert, values);
      return;
    }
    await client.query(
      `with indexed as (${upsert} returning id, path, (xmax = 0) as inserted), ${chunkCtes("indexed", 12)} select 1`,
      [...values, ...chunkParameters(chunked)],
    );
  }

  private async processFile(file: RemoteFile, given: Buffer | null, row: IndexedFile | null): Promise<Outcome> {
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
    return { kind: "deliver", ...base, content };
  }
}
