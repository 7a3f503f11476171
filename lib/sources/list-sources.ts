import { and, desc, getTableColumns, inArray, ne, sql, type SQL } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb, queryRows } from "@/lib/db/client";
import { sources, syncJobs, type SyncJob } from "@/lib/db/schema";
import { escapeLike } from "@/lib/db/escape-like";
import { visibleSources } from "./get-source-or-throw";
import { SOURCE_STATUSES, type ListSourcesQuery, type SOURCE_SORTS } from "./schemas";
import { JOB_FIELDS, SOURCE_FIELDS, toSourceDto, type JobFields, type SourceFields } from "./serialize";

type SourceSort = (typeof SOURCE_SORTS)[number];
type SourceStatus = (typeof SOURCE_STATUSES)[number];

/** The latest sync job of each of these sources (verify jobs show as verifiedAt and drift). */
export async function latestJobs(sourceIds: string[]): Promise<Map<string, SyncJob>> {
  if (sourceIds.length === 0) return new Map();
  const rows = await getDb()
    .selectDistinctOn([syncJobs.sourceId])
    .from(syncJobs)
    .where(and(inArray(syncJobs.sourceId, sourceIds), ne(syncJobs.type, "verify")))
    .orderBy(syncJobs.sourceId, desc(syncJobs.createdAt));
  return new Map(rows.map((r) => [r.sourceId, r]));
}

/** Errors first: what needs a person comes before what is fine. */
const STATUS_RANK = sql`array_position(array['error','needs_reauth','syncing','pending','synced']::text[], sources.status::text)`;

/** Each sort's keys (the id breaks ties) and direction; a page ends at a row's keys, read as text. */
const SORTS: Record<SourceSort, { keys: { expr: SQL; type: string }[]; direction: "asc" | "desc" }> = {
  "-createdAt": { keys: [{ expr: sql`sources.created_at`, type: "timestamptz" }], direction: "desc" },
  name: { keys: [{ expr: sql`lower(sources.name)`, type: "text" }], direction: "asc" },
  "-name": { keys: [{ expr: sql`lower(sources.name)`, type: "text" }], direction: "desc" },
  status: {
    keys: [
      { expr: STATUS_RANK, type: "int" },
      { expr: sql`lower(sources.name)`, type: "text" },
    ],
    direction: "asc",
  },
  lastSyncAt: {
    keys: [{ expr: sql`coalesce(sources.last_sync_at, '-infinity'::timestamptz)`, type: "timestamptz" }],
    direction: "asc",
  },
  "-lastSyncAt": {
    keys: [{ expr: sql`coalesce(sources.last_sync_at, '-infinity'::timestamptz)`, type: "timestamptz" }],
    direction: "desc",
  },
};

type SourceCursor = { sort: SourceSort; keys: string[]; id: string };

function encodeCursor(cursor: SourceCursor): string {
  return Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
}

function decodeCursor(cursor: string, sort: SourceSort): SourceCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = null;
  }
  const c = parsed as Partial<SourceCursor> | null;
  if (
    !c ||
    c.sort !== sort ||
    !Array.isArray(c.keys) ||
    c.keys.length !== SORTS[sort].keys.length ||
    !c.keys.every((k) => typeof k === "string") ||
    typeof c.id !== "string" ||
    !/^[0-9a-f-]{36}$/i.test(c.id)
  ) {
    throw new AppError(
      "bad_request",
      "The cursor is not valid for this sort; pass the nextCursor of a previous page with the same query.",
    );
  }
  return c as SourceCursor;
}

/** Filters of the sources list, without paging or sort. */
function sourceFilters(actor: Actor, query: { q?: string; type?: string[]; status?: string[] }): SQL[] {
  const where: SQL[] = [sql`true`];
  const visible = visibleSources(actor);
  if (visible) where.push(visible);
  if (query.q) where.push(sql`sources.name ilike ${`%${escapeLike(query.q)}%`}`);
  if (query.type?.length) where.push(inArray(sources.type, query.type));
  if (query.status?.length) where.push(inArray(sources.status, query.status));
  return where;
}

/** How many of the sources the actor may see (with `q` and `type` applied) are in each status. */
export async function countSourcesByStatus(
  actor: Actor,
  query: { q?: string; type?: string[] } = {},
): Promise<Record<SourceStatus, number>> {
  const { rows } = await getDb().execute<{ status: string; n: number }>(
    sql`select sources.status, count(*)::int as n from sources where ${and(...sourceFilters(actor, { q: query.q, type: query.type }))} group by 1`,
  );
  const counts = Object.fromEntries(SOURCE_STATUSES.map((status) => [status, 0])) as Record<SourceStatus, number>;
  for (const row of rows) counts[row.status as SourceStatus] = row.n;
  return counts;
}

/** A row of the list as the driver parses it: the source's fields, where a page ends, and its latest job's. */
type Row = SourceFields & {
  /** The sort's keys as text (timestamps to the microsecond, as PostgreSQL keeps them): where a page ends. */
  sortKeys: string[];
} & { [K in keyof JobFields as `job.${K}`]: JobFields[K] | null };

const SOURCE_COLUMNS = sql.raw(
  SOURCE_FIELDS.map((key) => `sources.${getTableColumns(sources)[key].name} as "${key}"`).join(", "),
);
const JOB_COLUMNS = sql.raw(
  JOB_FIELDS.map((key) => `j.${getTableColumns(syncJobs)[key].name} as "job.${key}"`).join(", "),
);

function latestJobOf(row: Row): JobFields | null {
  if (row["job.id"] === null) return null;
  return Object.fromEntries(JOB_FIELDS.map((key) => [key, row[`job.${key}`]])) as JobFields;
}

/**
 * Sources the actor may see, filtered (`q` in the name, `type`, `status`) and sorted (newest
 * first by default), each with its latest job and file count (kept on the source row). Without
 * a limit, all of them (`nextCursor` null); with one, a page and the cursor of the next. One
 * statement: each source's latest job by the (source_id, created_at) index, the rows as the
 * driver parses them (mapping thousands of rows through drizzle costs as much as the query).
 */
export async function listSources(actor: Actor, query: ListSourcesQuery = {}) {
  const sort: SourceSort = query.sort ?? "-createdAt";
  const order = SORTS[sort];
  const where = sourceFilters(actor, query);
  if (query.cursor) {
    const after = decodeCursor(query.cursor, sort);
    const left = sql.join([...order.keys.map((k) => k.expr), sql`sources.id`], sql`, `);
    const right = sql.join(
      [...order.keys.map((k, i) => sql`${after.keys[i]}::${sql.raw(k.type)}`), sql`${after.id}::uuid`],
      sql`, `,
    );
    where.push(order.direction === "asc" ? sql`(${left}) > (${right})` : sql`(${left}) < (${right})`);
  }
  const direction = sql.raw(order.direction);
  const orderBy = sql.join(
    [...order.keys.map((k) => sql`${k.expr} ${direction}`), sql`sources.id ${direction}`],
    sql`, `,
  );
  const keysAsText = sql.join(
    order.keys.map((k) => sql`${k.expr}::text`),
    sql`, `,
  );
  const limit = query.limit ? sql`limit ${query.limit + 1}` : sql``;
  // The rows as the driver parses them: drizzle's execute leaves timestamps as text.
  const rows = await queryRows<Row>(sql`
    select ${SOURCE_COLUMNS}, array[${keysAsText}] as "sortKeys", ${JOB_COLUMNS}
    from sources
    left join lateral (select * from sync_jobs where sync_jobs.source_id = sources.id and sync_jobs.type <> 'verify' order by sync_jobs.created_at desc limit 1) j on true
    where ${and(...where)}
    order by ${orderBy}
    ${limit}`);
  const shown = query.limit ? rows.slice(0, query.limit) : rows;
  const last = shown.at(-1);
  const nextCursor =
    query.limit && rows.length > query.limit && last ? encodeCursor({ sort, keys: last.sortKeys, id: last.id }) : null;
  return {
    sources: shown.map((r) => toSourceDto(r, { latestJob: latestJobOf(r) })),
    nextCursor,
  };
}
