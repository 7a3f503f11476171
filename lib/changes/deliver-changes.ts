import { gunzipSync } from "node:zlib";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { changes, fileContents, files, pipelineDeliveries, syncJobFailures, syncJobs } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import type { TextChunk } from "@/lib/pipeline/chunk";
import { PipelineRejectedError, type Pipeline, type WaitReporter } from "@/lib/pipeline/deliver";
import { mapLimit } from "@/lib/sync/map-limit";
import { StaleAttemptError } from "@/lib/sync/progress";
import { assertFence, isCurrentFence } from "./fence";

export type DeliverOptions = {
  sourceId: string;
  /** The attempt's fencing generation; null for a deleted source, whose deletions no sync can race. */
  fence: number | null;
  /** The job that refusals are recorded on (as failed files), if any. */
  jobId: string | null;
  pipeline: Pipeline;
  onWait?: WaitReporter;
  /** Only the changes of these paths (a batch's own); every pending change of the source when omitted. */
  paths?: string[];
  concurrency?: number;
};

type Pending = { seq: number; op: string; path: string; sha: string | null; language: string | null };

/**
 * Delivers the outbox's pending changes of a source, after the transactions that wrote them
 * have committed: per path only the latest change (older ones are superseded), each one
 * recorded as delivered, or as failed when a stage refused it (4xx), under the attempt's fence.
 * A crash before the record leaves the change pending, so the next attempt sends it again
 * (the idempotency key lets downstream drop the repeat).
 */
export async function deliverChanges(db: Db, options: DeliverOptions): Promise<void> {
  if (options.paths?.length === 0) return;
  for (;;) {
    const pending = await db
      .selectDistinctOn([changes.path], {
        seq: changes.seq,
        op: changes.op,
        path: changes.path,
        sha: changes.sha,
        language: changes.language,
      })
      .from(changes)
      .where(
        and(
          eq(changes.sourceId, options.sourceId),
          eq(changes.status, "pending"),
          options.paths ? inArray(changes.path, options.paths) : undefined,
        ),
      )
      .orderBy(changes.path, desc(changes.seq))
      .limit(100);
    if (pending.length === 0) return;
    const garbage = await mapLimit(pending, options.concurrency ?? 10, (change) => deliverOne(db, options, change));
    await pruneContents(db, garbage.flat());
  }
}

/** Delivers one change and records the outcome; returns content shas that may now be unreferenced. */
async function deliverOne(db: Db, options: DeliverOptions, change: Pending): Promise<string[]> {
  const { sourceId, fence, pipeline } = options;
  const guard = async () => {
    if (fence !== null && !(await isCurrentFence(db, sourceId, fence))) throw new StaleAttemptError();
  };
  await guard();
  let chunks: TextChunk[] | null = null;
  let refused: string | null = null;
  try {
    if (change.op === "upsert") {
      const [stored] = await db
        .select({ content: fileContents.content })
        .from(fileContents)
        .where(eq(fileContents.sha, change.sha!));
      if (!stored) refused = "The content of this version is no longer stored; sync the file again.";
      else {
        const file = { sourceId, path: change.path, sha: change.sha!, language: change.language };
        chunks = await pipeline.upsert({ ...file, content: gunzipSync(stored.content) }, options.onWait, guard);
      }
    } else {
      await pipeline.delete({ sourceId, path: change.path, sha: change.sha }, options.onWait, guard);
    }
  } catch (err) {
    if (!(err instanceof PipelineRejectedError)) throw err;
    refused = err.message;
  }
  return withTransaction(async (tx, _executor, client) => {
    if (fence !== null) await assertFence(tx, sourceId, fence);
    const now = new Date();
    const [mine] = await tx
      .update(changes)
      .set(refused ? { status: "failed", error: refused } : { status: "delivered", deliveredAt: now })
      .where(and(eq(changes.seq, change.seq), eq(changes.status, "pending")))
      .returning({ seq: changes.seq });
    if (!mine) return [];
    const superseded = await tx
      .update(changes)
      .set({ status: "superseded" })
      .where(
        and(
          eq(changes.sourceId, sourceId),
          eq(changes.path, change.path),
          eq(changes.status, "pending"),
          lt(changes.seq, change.seq),
        ),
      )
      .returning({ sha: changes.sha });
    const garbage = superseded.flatMap((s) => (s.sha ? [s.sha] : []));
    if (change.op === "delete" && change.sha) garbage.push(change.sha);
    if (change.op === "upsert") {
      const [file] = await tx
        .update(files)
        .set(refused ? { deliveryError: refused } : { deliveredSha: change.sha, deliveryError: null })
        .where(and(eq(files.sourceId, sourceId), eq(files.path, change.path), eq(files.sha, change.sha!)))
        .returning({ id: files.id });
      if (file && chunks) {
        await client.query("delete from chunks where file_id = $1", [file.id]);
        await client.query(
          `insert into chunks (file_id, ordinal, start_line, end_line, content)
           select $1, * from unnest($2::int[], $3::int[], $4::int[], $5::text[])`,
          [
            file.id,
            chunks.map((c) => c.ordinal),
            chunks.map((c) => c.startLine),
            chunks.map((c) => c.endLine),
            chunks.map((c) => c.content),
          ],
        );
      }
    }
    if (refused) {
      if (options.jobId) {
        await tx
          .insert(syncJobFailures)
          .values({ jobId: options.jobId, path: change.path, error: refused })
          .onConflictDoUpdate({
            target: [syncJobFailures.jobId, syncJobFailures.path],
            set: { error: sql`excluded.error` },
          });
        await tx
          .update(syncJobs)
          .set({
            filesFailed: sql`${syncJobs.filesFailed} + 1`,
            filesProcessed: sql`greatest(${syncJobs.filesProcessed} - 1, 0)`,
          })
          .where(eq(syncJobs.id, options.jobId));
      }
    } else {
      await tx.insert(pipelineDeliveries).values({
        sourceId,
        jobId: options.jobId,
        path: change.path,
        sha: change.sha,
        op: change.op,
        deliveredAt: now,
      });
    }
    return garbage;
  });
}

/** Removes stored contents that no indexed file and no pending change refers to any more. */
export async function pruneContents(db: Db, shas: string[]): Promise<void> {
  if (shas.length === 0) return;
  await db
    .delete(fileContents)
    .where(
      and(
        inArray(fileContents.sha, [...new Set(shas)]),
        sql`not exists (select 1 from ${files} where ${files.sha} = ${fileContents.sha})`,
        sql`not exists (select 1 from ${changes} where ${changes.sha} = ${fileContents.sha} and ${changes.status} = 'pending')`,
      ),
    );
}

/**
 * A retry of failed files sends again what a stage refused: the latest change of each of
 * `paths` that failed is appended anew as pending (an upsert only while the index still holds
 * that version).
 */
export async function requeueRefused(db: Db, sourceId: string, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  await db.execute(sql`
    insert into ${changes} (source_id, owner_id, job_id, op, path, sha, size, language, generation)
    select c.source_id, c.owner_id, c.job_id, c.op, c.path, c.sha, c.size, c.language, c.generation
    from (
      select distinct on (path) * from ${changes}
      where source_id = ${sourceId} and path in (${sql.join(
        paths.map((p) => sql`${p}`),
        sql`, `,
      )})
      order by path, seq desc
    ) c
    where c.status = 'failed'
      and (c.op = 'delete' or exists (select 1 from ${files} f where f.source_id = c.source_id and f.path = c.path and f.sha = c.sha))
    order by c.seq`);
}
