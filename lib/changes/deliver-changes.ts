import { gunzipSync } from "node:zlib";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { getDb, type Db } from "@/lib/db/client";
import { changes, fileContents, files, syncJobFailures, syncJobs } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import type pg from "pg";
import type { StoredChunk } from "@/lib/pipeline/chunk";
import { PipelineRejectedError, type Pipeline, type WaitReporter } from "@/lib/pipeline/deliver";
import { mapLimit } from "@/lib/map-limit";
import { StaleAttemptError } from "./attempt-errors";
import { byteRanges } from "./byte-ranges";
import { deliveredCtes, SELECT_GARBAGE } from "./record-changes";
import { assertFence, isCurrentFence } from "./fence";

/** Changes delivered per round. */
const PAGE = 100;

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
  /**
   * Count each recorded change on the job (delivered: processed, refused: failed), for a job
   * whose work is the delivery itself (a redelivery). A sync counts files as it indexes them.
   */
  countProgress?: boolean;
};

export type Pending = {
  seq: number;
  op: string;
  path: string;
  sha: string | null;
  language: string | null;
  generation: number;
  jobId: string | null;
};

/** What became of one change: delivered (with the chunks to store) or refused by a stage. */
export type Sent = { change: Pending; chunks: StoredChunk[] | null; refused: string | null };

/**
 * Delivers the outbox's pending changes of a source, after the transactions that wrote them
 * have committed: per path only the latest change (older ones are superseded), up to 100 at a
 * time, then records them in one transaction under the attempt's fence: delivered, or failed
 * when a stage refused one (4xx). A crash before the record leaves them pending, so the next
 * attempt sends them again (the idempotency key lets downstream drop the repeat).
 */
export async function deliverChanges(options: DeliverOptions): Promise<void> {
  if (options.paths?.length === 0) return;
  const db = getDb();
  const { sourceId, fence } = options;
  const guard = async () => {
    if (fence !== null && !(await isCurrentFence(sourceId, fence))) throw new StaleAttemptError();
  };
  for (;;) {
    const pending = await db
      .selectDistinctOn([changes.path], {
        seq: changes.seq,
        op: changes.op,
        path: changes.path,
        sha: changes.sha,
        language: changes.language,
        generation: changes.generation,
        jobId: changes.jobId,
      })
      .from(changes)
      .where(
        and(
          eq(changes.sourceId, sourceId),
          eq(changes.status, "pending"),
          options.paths ? inArray(changes.path, options.paths) : undefined,
        ),
      )
      .orderBy(changes.path, desc(changes.seq))
      .limit(PAGE);
    if (pending.length === 0) return;
    await guard();
    const shas = [...new Set(pending.flatMap((c) => (c.op === "upsert" && c.sha ? [c.sha] : [])))];
    const stored = shas.length
      ? await db
          .select({ sha: fileContents.sha, content: fileContents.content })
          .from(fileContents)
          .where(inArray(fileContents.sha, shas))
      : [];
    const contentBySha = new Map(stored.map((s) => [s.sha, s.content]));
    const sent = await mapLimit(pending, options.concurrency ?? 10, (change) =>
      send(options, change, contentBySha.get(change.sha ?? ""), guard),
    );
    const garbage = await record(options, sent);
    await pruneContents(garbage);
    // A short page of a batch's own paths was all of them: no need to ask again.
    if (options.paths && pending.length < PAGE) return;
  }
}

async function send(
  options: DeliverOptions,
  change: Pending,
  stored: Buffer | undefined,
  guard: () => Promise<void>,
): Promise<Sent> {
  const { sourceId, pipeline } = options;
  try {
    if (change.op === "delete") {
      await pipeline.delete({ sourceId, path: change.path, sha: change.sha }, options.onWait, guard);
      return { change, chunks: null, refused: null };
    }
    if (!stored) return { change, chunks: null, refused: "The content of this version is no longer stored." };
    const file = {
      sourceId,
      path: change.path,
      sha: change.sha!,
      language: change.language,
      generation: change.generation,
    };
    const chunks = await pipeline.upsert({ ...file, content: gunzipSync(stored) }, options.onWait, guard);
    return { change, chunks, refused: null };
  } catch (err) {
    if (!(err instanceof PipelineRejectedError)) throw err;
    return { change, chunks: null, refused: err.message };
  }
}

/** Records what was sent, in one transaction; returns content shas that may now be unreferenced. */
async function record(options: DeliverOptions, sent: Sent[]): Promise<string[]> {
  const { sourceId, fence, jobId } = options;
  return withTransaction(async (tx, _executor, client) => {
    // The job's row before the source's, in the order batch transactions take them.
    if (jobId) await tx.execute(sql`select 1 from ${syncJobs} where ${syncJobs.id} = ${jobId} for update`);
    if (fence !== null) await assertFence(tx, sourceId, fence);
    // Only changes still pending are this round's to record (another deliverer may have done it).
    const marked = await client.query<{ seq: string }>(
      `update changes c set status = u.status, error = u.error,
         delivered_at = case when u.status = 'delivered' then now() end
       from unnest($1::bigint[], $2::text[], $3::text[]) u(seq, status, error)
       where c.seq = u.seq and c.status = 'pending'
       returning c.seq`,
      [
        sent.map((s) => s.change.seq),
        sent.map((s) => (s.refused ? "failed" : "delivered")),
        sent.map((s) => s.refused),
      ],
    );
    const mine = new Set(marked.rows.map((r) => Number(r.seq)));
    const done = sent.filter((s) => mine.has(s.change.seq));
    const garbage = await recordDelivered(client, sourceId, done);
    await writeDeliveredFiles(tx, client, { sourceId, jobId, countProgress: options.countProgress }, done);
    return garbage;
  });
}

/**
 * Records, in the caller's transaction, that `done` were delivered or refused (their changes
 * already marked) in one statement (deliveredCtes): older pending changes of the same paths
 * superseded. Returns content shas that may now be unreferenced.
 */
async function recordDelivered(client: pg.PoolClient, sourceId: string, done: Sent[]): Promise<string[]> {
  if (done.length === 0) return [];
  const { rows } = await client.query<{ garbage: string[] }>(
    `with done as (
       select * from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[]) u(seq, path, sha, op, refused)
     ), ${deliveredCtes("$1")} ${SELECT_GARBAGE}`,
    [
      sourceId,
      done.map((s) => s.change.seq),
      done.map((s) => s.change.path),
      done.map((s) => s.change.sha),
      done.map((s) => s.change.op),
      done.map((s) => s.refused !== null),
    ],
  );
  const deleted = done.flatMap((s) => (s.change.op === "delete" && s.change.sha ? [s.change.sha] : []));
  return [...rows[0]!.garbage, ...deleted];
}

/**
 * Writes, in the caller's transaction, what delivering `done` produced: the files' delivered
 * versions and chunks (in one statement), refusals as failed files on the job, and with
 * `countProgress` the job's counters.
 */
async function writeDeliveredFiles(
  tx: Db,
  client: pg.PoolClient,
  { sourceId, jobId, countProgress }: { sourceId: string; jobId: string | null; countProgress?: boolean },
  done: Sent[],
): Promise<void> {
  if (done.length === 0) return;
  const upserts = done.filter((s) => s.change.op === "upsert");
  if (upserts.length > 0) {
    const withChunks = upserts.flatMap((s) => (s.chunks ? [{ path: s.change.path, chunks: s.chunks }] : []));
    await client.query(
      `with updated as (
         update files f set
           delivered_sha = case when u.error is null then u.sha else f.delivered_sha end,
           delivery_error = u.error
         from unnest($2::text[], $3::text[], $4::text[]) u(path, sha, error)
         where f.source_id = $1 and f.path = u.path and f.sha = u.sha
         returning f.id, f.path, false as inserted
       ), ${chunkCtes("updated", 5)} select 1`,
      [
        sourceId,
        upserts.map((s) => s.change.path),
        upserts.map((s) => s.change.sha),
        upserts.map((s) => s.refused),
        ...chunkParameters(withChunks),
      ],
    );
  }
  const refused = done.filter((s) => s.refused);
  if (refused.length > 0 && jobId) {
    await tx
      .insert(syncJobFailures)
      .values(refused.map((s) => ({ jobId, path: s.change.path, error: s.refused! })))
      .onConflictDoUpdate({
        target: [syncJobFailures.jobId, syncJobFailures.path],
        set: { error: sql`excluded.error` },
      });
  }
  if (jobId && countProgress) {
    // Only the job's own changes count: leftovers of an earlier sync may go out with them.
    const own = done.filter((s) => s.change.jobId === jobId);
    const failed = own.filter((s) => s.refused).length;
    const counted = sql`${syncJobs.filesProcessed} + ${syncJobs.filesSkipped} + ${syncJobs.filesFailed} + ${own.length}`;
    await tx
      .update(syncJobs)
      .set({
        filesProcessed: sql`${syncJobs.filesProcessed} + ${own.length - failed}`,
        filesFailed: sql`${syncJobs.filesFailed} + ${failed}`,
        progress: sql`least(99, floor(100.0 * (${counted}) / greatest(${syncJobs.filesTotal}, 1)))::int`,
      })
      .where(eq(syncJobs.id, jobId));
  } else if (refused.length > 0 && jobId) {
    await tx
      .update(syncJobs)
      .set({
        filesFailed: sql`${syncJobs.filesFailed} + ${refused.length}`,
        filesProcessed: sql`greatest(${syncJobs.filesProcessed} - ${refused.length}, 0)`,
      })
      .where(eq(syncJobs.id, jobId));
  }
}

/** A delivered file's chunks, written by chunkCtes. */
export type FileChunks = { path: string; chunks: StoredChunk[] };

/**
 * Common table expressions that replace the chunks of files, one row per file: a row equal to
 * the stored one is left alone, a file without chunks (empty) keeps no row. `files` names a
 * relation (id, path, inserted) holding the files' rows (an inserted one has no chunks yet);
 * the chunks are the 7 parameters from `$first` on that chunkParameters gives: one element per
 * file, its lines as array literals, so that the statement neither splits nor gathers them.
 */
export function chunkCtes(files: string, first: number): string {
  const $ = (i: number) => `$${first + i}`;
  // Chunks without text (the embedded pipeline's) are stored without text: lines of the stored content.
  return `emptied as (
     delete from chunks where file_id in (select f.id from ${files} f where not f.inserted and f.path = any(${$(0)}::text[]))
   ), chunked as (
     insert into chunks (file_id, start_lines, end_lines, contents)
     select f.id, u.start_lines::int[], u.end_lines::int[],
       (select array_agg(convert_from(substring(${$(6)}::bytea from t.start for t.length), 'UTF8') order by t.n)
        from unnest(u.text_starts::int[], u.text_lengths::int[]) with ordinality t(start, length, n))
     from unnest(${$(1)}::text[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::text[], ${$(5)}::text[])
       u(path, start_lines, end_lines, text_starts, text_lengths)
     join ${files} f on f.path = u.path
     on conflict (file_id) do update
       set start_lines = excluded.start_lines, end_lines = excluded.end_lines, contents = excluded.contents
       where (chunks.start_lines, chunks.end_lines, chunks.contents)
         is distinct from (excluded.start_lines, excluded.end_lines, excluded.contents)
   )`;
}

/** Whole numbers as an SQL array literal (`{1,61,111}`). */
const arrayLiteral = (values: number[]) => `{${values.join(",")}}`;

/**
 * The parameters of chunkCtes. A file whose chunks carry text (a chunk stage's) has every
 * chunk's text stored, one range of the texts' blob each; others store none.
 */
export function chunkParameters(delivered: FileChunks[]): unknown[] {
  const chunked = delivered.filter((d) => d.chunks.length > 0);
  const withText = chunked.map((d) => d.chunks.some((c) => c.content !== null));
  const texts = byteRanges(chunked.flatMap((d, i) => (withText[i] ? d.chunks.map((c) => c.content ?? "") : [])));
  let at = 0;
  const ranges = chunked.map((d, i) => {
    if (!withText[i]) return { starts: null, lengths: null };
    const [from, to] = [at, (at += d.chunks.length)];
    return { starts: arrayLiteral(texts.starts.slice(from, to)), lengths: arrayLiteral(texts.lengths.slice(from, to)) };
  });
  return [
    delivered.filter((d) => d.chunks.length === 0).map((d) => d.path),
    chunked.map((d) => d.path),
    chunked.map((d) => arrayLiteral(d.chunks.map((c) => c.startLine))),
    chunked.map((d) => arrayLiteral(d.chunks.map((c) => c.endLine))),
    ranges.map((r) => r.starts),
    ranges.map((r) => r.lengths),
    texts.blob,
  ];
}

/**
 * Removes stored contents that no indexed file, no file's delivered chunks (whose text may be
 * read from the content, see StoredChunk) and no pending change refers to any more.
 */
export async function pruneContents(shas: string[]): Promise<void> {
  if (shas.length === 0) return;
  await getDb()
    .delete(fileContents)
    .where(
      and(
        inArray(fileContents.sha, [...new Set(shas)]),
        sql`not exists (select 1 from ${files} where ${files.sha} = ${fileContents.sha})`,
        // files_delivered_sha_idx holds exactly the rows whose delivered version is not the indexed one.
        sql`not exists (select 1 from ${files} where ${files.deliveredSha} = ${fileContents.sha} and ${files.deliveredSha} <> ${files.sha})`,
        sql`not exists (select 1 from ${changes} where ${changes.sha} = ${fileContents.sha} and ${changes.status} = 'pending')`,
      ),
    );
}

/**
 * A retry of failed files sends again what a stage refused: the latest change of each of
 * `paths` that failed is appended anew as pending (an upsert only while the index still holds
 * that version).
 */
export async function requeueRefused(sourceId: string, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  await getDb().execute(sql`
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
