import type { StatementParameters } from "@/lib/db/statement-parameters";
import { byteRanges } from "./byte-ranges";
import { gzipAll } from "./gzip-thread";

export type UpsertChange = { path: string; sha: string; size: number; language: string | null };
/** One distinct content, gzipped (see gzipContents). */
export type StoredContent = { sha: string; gzipped: Buffer };

/** The fastest level: contents are written once per version on the sync's path and read rarely. */
const GZIP = { level: 1 };

/**
 * Each distinct content of `upserts` gzipped, once (see gzipAll): done before the write, so
 * that the CPU work holds no lock.
 */
export async function gzipContents(upserts: { sha: string; content: Buffer }[]): Promise<StoredContent[]> {
  const distinct = [...new Map(upserts.map((u) => [u.sha, u.content]))];
  const gzipped = await gzipAll(
    distinct.map(([, content]) => content),
    GZIP,
  );
  return distinct.map(([sha], i) => ({ sha, gzipped: gzipped[i]! }));
}

/**
 * The common table expression that records changes already delivered, over a relation
 * `done(seq, path, sha, op, refused)` defined before it: older pending changes of the same
 * paths become superseded (`superseded` returns their shas, whose contents may now be
 * unreferenced). `source` is the SQL (a parameter) for the source's id. The changes themselves
 * say what was delivered when (status, delivered_at): they are the record of deliveries.
 */
export function deliveredCtes(source: string): string {
  return `superseded as (
     update changes c set status = 'superseded' from done
     where c.source_id = ${source} and c.path = done.path and c.status = 'pending' and c.seq < done.seq
     returning c.sha
   )`;
}

/** The content shas of the changes deliveredCtes superseded, as an SQL array. */
const SUPERSEDED_SHAS = "array(select sha from superseded where sha is not null)";

/** The shas of the superseded changes (deliveredCtes) as an array column `garbage`. */
export const SELECT_GARBAGE = `select ${SUPERSEDED_SHAS} as garbage`;

/** The SQL (placeholders or expressions) of the source, owner and job that changes are recorded for. */
export type ChangeColumns = { source: string; owner: string; job: string };

/**
 * What a statement's recorded changes start as: pending (delivered after it commits), or, for
 * the embedded pipeline, already delivered (its delivery is written by the same statement).
 * Each row is written only where `gate` (an SQL condition) holds.
 */
export type RecordOptions = { delivered: boolean; gate: string };

const status = (delivered: boolean) => (delivered ? `'delivered', now()` : `'pending', null::timestamptz`);

/**
 * Common table expressions that store `contents` and append `upserts` to the outbox as the
 * relation `upserted(seq, path, sha, op, refused)`. Contents go in sha order, so that concurrent
 * batches sharing a content take its key in one order.
 */
export function upsertChangeCtes(
  p: StatementParameters,
  on: ChangeColumns,
  contents: StoredContent[],
  upserts: UpsertChange[],
  { delivered, gate }: RecordOptions,
): string {
  const sorted = [...contents].sort((a, b) => (a.sha < b.sha ? -1 : a.sha > b.sha ? 1 : 0));
  const stored = byteRanges(sorted.map((c) => c.gzipped));
  const blob = p.add(stored.blob, "bytea");
  const parts = p.unnest(sorted, [
    ["text[]", (c) => c.sha],
    ["int[]", (_, i) => stored.starts[i]],
    ["int[]", (_, i) => stored.lengths[i]],
  ]);
  const changed = p.unnest(upserts, [
    ["text[]", (u) => u.path],
    ["text[]", (u) => u.sha],
    ["bigint[]", (u) => u.size],
    ["text[]", (u) => u.language],
  ]);
  return `stored as (
     insert into file_contents (sha, content)
     select u.sha, substring(${blob} from u.start for u.length)
     from ${parts} u(sha, start, length)
     where ${gate}
     on conflict (sha) do nothing
   ), upserted as (
     insert into changes (source_id, owner_id, job_id, status, delivered_at, op, path, sha, size, language)
     select ${on.source}, ${on.owner}, ${on.job}, ${status(delivered)}, 'upsert', u.*
     from ${changed} u(path, sha, size, language)
     where ${gate}
     returning seq, path, sha, op, false as refused
   )`;
}

/**
 * Common table expressions that remove the index rows of `paths` from the source (`on.source`),
 * as the relation `gone(path, sha)`, and append their deletions to the outbox as the relation
 * `deleted(seq, path, sha, op, refused)`.
 */
export function deleteFilesCtes(
  p: StatementParameters,
  on: ChangeColumns,
  paths: string[],
  { delivered, gate }: RecordOptions,
): string {
  return `gone as (
     delete from files where source_id = ${on.source} and path = any(${p.add(paths, "text[]")}) and ${gate}
     returning path, sha
   ), deleted as (
     insert into changes (source_id, owner_id, job_id, status, delivered_at, op, path, sha)
     select ${on.source}, ${on.owner}, ${on.job}, ${status(delivered)}, 'delete', path, sha from gone
     returning seq, path, sha, op, false as refused
   )`;
}

/**
 * What follows upsertChangeCtes and deleteFilesCtes in a statement (`recorded`: the relations
 * they named): when the changes are recorded as delivered, the relation `done` of them all and
 * deliveredCtes; and `garbage`, the statement's column of content shas it may have left
 * unreferenced (superseded changes', removed files').
 */
export function recordedCtes(
  recorded: string[],
  on: ChangeColumns,
  { delivered }: RecordOptions,
): { ctes: string[]; garbage: string } {
  if (!delivered || recorded.length === 0) return { ctes: [], garbage: "null::text[] as garbage" };
  const done = `done as (${recorded.map((r) => `select * from ${r}`).join(" union all ")})`;
  const gone = recorded.includes("deleted") ? " || array(select sha from gone where sha is not null)" : "";
  return {
    ctes: [done, deliveredCtes(on.source)],
    garbage: `${SUPERSEDED_SHAS}${gone} as garbage`,
  };
}
