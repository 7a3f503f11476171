import { createHash } from "node:crypto";
import { and, eq, inArray, like, or, sql } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { chunks, files, pipelineDeliveries, syncJobFailures, type Source } from "@/lib/db/schema";
import { escapeLike } from "@/lib/db/escape-like";
import { withTransaction } from "@/lib/db/transaction";
import { ConnectorError } from "@/lib/connectors/errors";
import type { Connector, RemoteFile } from "@/lib/connectors/types";
import type { TextChunk } from "@/lib/pipeline/chunk";
import { PipelineRejectedError, type Pipeline } from "@/lib/pipeline/deliver";
import { isBinary, type FileFilter } from "./filters";
import { mapLimit } from "./map-limit";
import { addProgress, SyncCancelledError } from "./progress";
import { waitOutRateLimits } from "./provider-call";

export type IndexedFile = { id: string; sha: string | null; providerVersion: string | null };
export type BatchEntry = { file: RemoteFile; content: Buffer | null };

type Outcome =
  | { kind: "deliver"; file: RemoteFile; sha: string; size: number; language: string | null; chunks: TextChunk[] }
  | { kind: "same"; file: RemoteFile; sha: string; size: number; language: string | null }
  | { kind: "dropped"; path: string; reason: string; removed: IndexedFile | null }
  | { kind: "failed"; path: string; error: string };

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** The index rows of a source, or only those at (`exact`) or at and under `paths`. */
export async function loadIndex(db: Db, sourceId: string, paths?: string[], options: { exact?: boolean } = {}): Promise<Map<string, IndexedFile>> {
  const where = [eq(files.sourceId, sourceId)];
  if (paths) {
    if (paths.length === 0) return new Map();
    const conditions = [inArray(files.path, paths)];
    if (!options.exact) for (const p of paths) conditions.push(like(files.path, `${escapeLike(p)}/%`));
    where.push(or(...conditions)!);
  }
  const rows = await db
    .select({ id: files.id, path: files.path, sha: files.sha, providerVersion: files.providerVersion })
    .from(files)
    .where(and(...where));
  return new Map(rows.map((r) => [r.path, { id: r.id, sha: r.sha, providerVersion: r.providerVersion }]));
}

/**
 * Reads, checks, delivers and indexes one batch of files of one sync job, and writes the
 * batch in one transaction: the rows, their chunks, the delivery log, the failures and the
 * job's counters. Used inline by a sync and by the process-file-batch job alike.
 */
export class FileProcessor {
  constructor(
    private readonly context: {
      jobId: string;
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
   * running meanwhile; `inTransaction` runs last in the batch's transaction.
   */
  async process(batch: BatchEntry[], existing: Map<string, IndexedFile>, inTransaction?: (tx: Db) => Promise<void>): Promise<void> {
    const { jobId, source } = this.context;
    const outcomes = batch.length
      ? await mapLimit(batch, this.context.concurrency, ({ file, content }) => this.processFile(file, content, existing.get(file.path) ?? null))
      : [];
    await withTransaction(async (tx) => {
      // First, so that batches of one job commit one after the other and none after a cancel.
      const running = await addProgress(tx, jobId, {
        processed: outcomes.filter((o) => o.kind === "deliver").length,
        failed: outcomes.filter((o) => o.kind === "failed").length,
        skipped: outcomes.filter((o) => o.kind === "same" || o.kind === "dropped").length,
      });
      if (!running) throw new SyncCancelledError();
      const now = new Date();
      const rows = outcomes.filter((o) => o.kind === "deliver" || o.kind === "same");
      if (rows.length > 0) {
        const written = await tx
          .insert(files)
          .values(
            rows.map((o) => ({
              sourceId: source.id,
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
            delivered.map((o) => ({ sourceId: source.id, jobId, path: o.file.path, sha: o.sha, op: "upsert", deliveredAt: now })),
          );
        }
      }
      // A file that the content checks now drop (grown too large, turned binary) leaves the index.
      const removed = outcomes.filter((o): o is Extract<Outcome, { kind: "dropped" }> => o.kind === "dropped" && o.removed !== null);
      if (removed.length > 0) {
        await tx.delete(files).where(and(eq(files.sourceId, source.id), inArray(files.path, removed.map((o) => o.path))));
        await tx.insert(pipelineDeliveries).values(
          removed.map((o) => ({ sourceId: source.id, jobId, path: o.path, sha: o.removed!.sha, op: "delete", deliveredAt: now })),
        );
      }
      const failures = outcomes.filter((o): o is Extract<Outcome, { kind: "failed" }> => o.kind === "failed");
      if (failures.length > 0) {
        await tx
          .insert(syncJobFailures)
          .values(failures.map((f) => ({ jobId, path: f.path, error: f.error })))
          .onConflictDoUpdate({ target: [syncJobFailures.jobId, syncJobFailures.path], set: { error: sql`excluded.error` } });
      }
      await inTransaction?.(tx);
    });
  }

  private async processFile(file: RemoteFile, given: Buffer | null, row: IndexedFile | null): Promise<Outcome> {
    const { filter, connector, pipeline, source } = this.context;
    const dropped = async (reason: string): Promise<Outcome> => {
      if (row) await pipeline.delete({ sourceId: source.id, path: file.path, sha: row.sha }, this.context.setDetail);
      return { kind: "dropped", path: file.path, reason, removed: row };
    };
    const verdict = filter.checkPath(file.path);
    if (!verdict.keep) return dropped(verdict.reason);
    if (file.size !== null && file.size > filter.maxFileSize) return dropped(`larger than ${filter.maxFileSize} bytes`);
    let content: Buffer;
    try {
      content = given ?? (await waitOutRateLimits(() => connector.getFileContent(file.path), this.context.setDetail));
    } catch (err) {
      if (err instanceof ConnectorError && err.retryable) throw err;
      return { kind: "failed", path: file.path, error: (err as Error).message };
    }
    if (content.length > filter.maxFileSize) return dropped(`larger than ${filter.maxFileSize} bytes`);
    if (isBinary(content)) return dropped("binary content");
    const sha = sha256(content);
    const base = { file, sha, size: content.length, language: verdict.language };
    if (row?.sha === sha) return { kind: "same", ...base };
    try {
      const textChunks = await pipeline.upsert({ sourceId: source.id, path: file.path, sha, language: verdict.language, content }, this.context.setDetail);
      return { kind: "deliver", ...base, chunks: textChunks };
    } catch (err) {
      if (!(err instanceof PipelineRejectedError)) throw err;
      return { kind: "failed", path: file.path, error: err.message };
    }
  }
}
