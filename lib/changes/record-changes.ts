import { gzipSync } from "node:zlib";
import type pg from "pg";

export type ChangeContext = { sourceId: string; ownerId: string | null; jobId: string | null };
export type UpsertChange = { path: string; sha: string; size: number; language: string | null; content: Buffer };
export type DeleteChange = { path: string; sha: string | null };

/**
 * Appends upserts to the outbox in the caller's transaction (the one that writes their `files`
 * rows), storing each distinct content once.
 */
export async function recordUpserts(client: pg.PoolClient, context: ChangeContext, upserts: UpsertChange[]) {
  if (upserts.length === 0) return;
  const distinct = new Map(upserts.map((u) => [u.sha, u.content]));
  await client.query(
    `insert into file_contents (sha, content)
     select * from unnest($1::text[], $2::bytea[]) on conflict (sha) do nothing`,
    [[...distinct.keys()], [...distinct.values()].map((content) => gzipSync(content))],
  );
  await client.query(
    `insert into changes (source_id, owner_id, job_id, op, path, sha, size, language)
     select $1, $2, $3, 'upsert', * from unnest($4::text[], $5::text[], $6::bigint[], $7::text[])`,
    [
      context.sourceId,
      context.ownerId,
      context.jobId,
      upserts.map((u) => u.path),
      upserts.map((u) => u.sha),
      upserts.map((u) => u.size),
      upserts.map((u) => u.language),
    ],
  );
}

/** Appends deletions to the outbox in the caller's transaction (the one that removes the rows). */
export async function recordDeletes(client: pg.PoolClient, context: ChangeContext, deletes: DeleteChange[]) {
  if (deletes.length === 0) return;
  await client.query(
    `insert into changes (source_id, owner_id, job_id, op, path, sha)
     select $1, $2, $3, 'delete', * from unnest($4::text[], $5::text[])`,
    [context.sourceId, context.ownerId, context.jobId, deletes.map((d) => d.path), deletes.map((d) => d.sha)],
  );
}
