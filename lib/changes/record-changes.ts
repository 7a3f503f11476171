import { gzipSync } from "node:zlib";
import type pg from "pg";

export type ChangeContext = { sourceId: string; ownerId: string | null; jobId: string | null };
export type UpsertChange = { path: string; sha: string; size: number; language: string | null; content: Buffer };
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
 * Appends upserts to the outbox in the caller's transaction (the one that writes their `files`
 * rows), storing each distinct content once.
 */
export async function recordUpserts(
  client: pg.PoolClient,
  context: ChangeContext,
  upserts: UpsertChange[],
  options: RecordOptions = {},
): Promise<RecordedChange[]> {
  if (upserts.length === 0) return [];
  const distinct = new Map(upserts.map((u) => [u.sha, u.content]));
  await client.query(
    `insert into file_contents (sha, content)
     select * from unnest($1::text[], $2::bytea[]) on conflict (sha) do nothing`,
    [[...distinct.keys()], [...distinct.values()].map((content) => gzipSync(content, GZIP))],
  );
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
