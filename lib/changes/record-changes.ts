import { gzipSync } from "node:zlib";
import type pg from "pg";
import { byteRanges } from "./byte-ranges";

export type ChangeContext = { sourceId: string; ownerId: string | null; jobId: string | null };
export type UpsertChange = { path: string; sha: string; size: number; language: string | null };
/** One distinct content, gzipped (see gzipContents). */
export type StoredContent = { sha: string; gzipped: Buffer };
export type DeleteChange = { path: string; sha: string | null };

/**
 * How the appended changes start: pending (delivered after the transaction commits), or already
 * delivered, for the embedded pipeline, whose delivery the same transaction writes.
 */
export type RecordOptions = { delivered?: boolean };

/** The fastest level: contents are written once per version on the sync's path and read rarely. */
const GZIP = { level: 1 };

const STATUS = `case when $4::boolean then 'delivered' else 'pending' end, case when $4::boolean then now() end`;

/**
 * Each distinct content of `upserts` gzipped, once: done before the write transaction, so that
 * the CPU work holds no lock.
 */
export function gzipContents(upserts: { sha: string; content: Buffer }[]): StoredContent[] {
  const distinct = new Map(upserts.map((u) => [u.sha, u.content]));
  return [...distinct].map(([sha, content]) => ({ sha, gzipped: gzipSync(content, GZIP) }));
}

/**
 * The common table expressions that record changes already delivered, over a relation
 * `done(seq, path, sha, op, refused)` defined before them: older pending changes of the same
 * paths become superseded (`superseded` returns their shas, whose contents may now be
 * unreferenced), and the changes not refused are logged in pipeline_deliveries. `source` and
 * `job` are the SQL (parameters) for the source's and the job's ids.
 */
export function deliveredCtes(source: string, job: string): string {
  return `superseded as (
     update changes c set status = 'superseded' from done
     where c.source_id = ${source} and c.path = done.path and c.status = 'pending' and c.seq < done.seq
     returning c.sha
   ), logged as (
     insert into pipeline_deliveries (source_id, job_id, path, sha, op, delivered_at)
     select ${source}, ${job}, path, sha, op, now() from done where not refused
   )`;
}

/** The shas of the superseded changes (deliveredCtes) as an array column `garbage`. */
export const SELECT_GARBAGE = `select array(select sha from superseded where sha is not null) as garbage`;

/**
 * Stores `contents` and appends `upserts` to the outbox in one statement, in the caller's
 * transaction (the one that writes their `files` rows). With `delivered` they are recorded as
 * delivered (deliveredCtes). Returns content shas that may now be unreferenced.
 */
export async function recordUpserts(
  client: pg.PoolClient,
  context: ChangeContext,
  contents: StoredContent[],
  upserts: UpsertChange[],
  options: RecordOptions = {},
): Promise<string[]> {
  if (upserts.length === 0) return [];
  const stored = byteRanges(contents.map((c) => c.gzipped));
  const insert = `insert into changes (source_id, owner_id, job_id, status, delivered_at, op, path, sha, size, language)
     select $1, $2, $3, ${STATUS}, 'upsert', * from unnest($5::text[], $6::text[], $7::bigint[], $8::text[])`;
  const { rows } = await client.query<{ garbage: string[] }>(
    `with stored as (
       insert into file_contents (sha, content)
       select u.sha, substring($12::bytea from u.start for u.length)
       from unnest($9::text[], $10::int[], $11::int[]) u(sha, start, length)
       on conflict (sha) do nothing
     ), ${
       options.delivered
         ? `done as (${insert} returning seq, path, sha, op, false as refused), ${deliveredCtes("$1", "$3")} ${SELECT_GARBAGE}`
         : `recorded as (${insert}) select null as garbage`
     }`,
    [
      context.sourceId,
      context.ownerId,
      context.jobId,
      options.delivered ?? false,
      upserts.map((u) => u.path),
      upserts.map((u) => u.sha),
      upserts.map((u) => u.size),
      upserts.map((u) => u.language),
      contents.map((c) => c.sha),
      stored.starts,
      stored.lengths,
      stored.blob,
    ],
  );
  return rows[0]?.garbage ?? [];
}

/**
 * Appends deletions to the outbox in the caller's transaction (the one that removes the rows).
 * With `delivered` they are recorded as delivered (deliveredCtes) and the content shas that may
 * now be unreferenced are returned: the deleted versions' and the superseded changes'.
 */
export async function recordDeletes(
  client: pg.PoolClient,
  context: ChangeContext,
  deletes: DeleteChange[],
  options: RecordOptions = {},
): Promise<string[]> {
  if (deletes.length === 0) return [];
  const insert = `insert into changes (source_id, owner_id, job_id, status, delivered_at, op, path, sha)
     select $1, $2, $3, ${STATUS}, 'delete', * from unnest($5::text[], $6::text[])`;
  const { rows } = await client.query<{ garbage: string[] | null }>(
    options.delivered
      ? `with done as (${insert} returning seq, path, sha, op, false as refused), ${deliveredCtes("$1", "$3")} ${SELECT_GARBAGE}`
      : insert,
    [
      context.sourceId,
      context.ownerId,
      context.jobId,
      options.delivered ?? false,
      deletes.map((d) => d.path),
      deletes.map((d) => d.sha),
    ],
  );
  if (!options.delivered) return [];
  return [...deletes.flatMap((d) => (d.sha ? [d.sha] : [])), ...(rows[0]?.garbage ?? [])];
}
