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
export type RecordedChange = { seq: number; path: string };

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

/** Stores contents in the caller's transaction, the one that records their upserts. */
export async function storeContents(client: pg.PoolClient, contents: StoredContent[]): Promise<void> {
  if (contents.length === 0) return;
  const stored = byteRanges(contents.map((c) => c.gzipped));
  await client.query(
    `insert into file_contents (sha, content)
     select u.sha, substring($4::bytea from u.start for u.length)
     from unnest($1::text[], $2::int[], $3::int[]) u(sha, start, length)
     on conflict (sha) do nothing`,
    [contents.map((c) => c.sha), stored.starts, stored.lengths, stored.blob],
  );
}

/**
 * Appends upserts to the outbox in the caller's transaction (the one that writes their `files`
 * rows and stores their contents with storeContents).
 */
export async function recordUpserts(
  client: pg.PoolClient,
  context: ChangeContext,
  upserts: UpsertChange[],
  options: RecordOptions = {},
): Promise<RecordedChange[]> {
  if (upserts.length === 0) return [];
  const { rows } = await client.query<{ seq: string; path: string }>(
    `insert into changes (source_id, owner_id, job_id, status, delivered_at, op, path, sha, size, language)
     select $1, $2, $3, ${STATUS}, 'upsert', * from unnest($5::text[], $6::text[], $7::bigint[], $8::text[])
     returning seq, path`,
    [
      context.sourceId,
      context.ownerId,
      context.jobId,
      options.delivered ?? false,
      upserts.map((u) => u.path),
      upserts.map((u) => u.sha),
      upserts.map((u) => u.size),
      upserts.map((u) => u.language),
    ],
  );
  return rows.map((r) => ({ seq: Number(r.seq), path: r.path }));
}

/** Appends deletions to the outbox in the caller's transaction (the one that removes the rows). */
export async function recordDeletes(
  client: pg.PoolClient,
  context: ChangeContext,
  deletes: DeleteChange[],
  options: RecordOptions = {},
): Promise<RecordedChange[]> {
  if (deletes.length === 0) return [];
  const { rows } = await client.query<{ seq: string; path: string }>(
    `insert into changes (source_id, owner_id, job_id, status, delivered_at, op, path, sha)
     select $1, $2, $3, ${STATUS}, 'delete', * from unnest($5::text[], $6::text[])
     returning seq, path`,
    [
      context.sourceId,
      context.ownerId,
      context.jobId,
      options.delivered ?? false,
      deletes.map((d) => d.path),
      deletes.map((d) => d.sha),
    ],
  );
  return rows.map((r) => ({ seq: Number(r.seq), path: r.path }));
}
