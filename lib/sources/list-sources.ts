import { and, desc, inArray, sql, type SQL } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import type { DbOrTx } from "@/lib/db/client";
import { sources, syncJobs, type SyncJob } from "@/lib/db/schema";
import { visibleSources } from "./get-source-or-throw";
import { toSourceDto } from "./serialize";

/** The latest job of each of these sources. */
export async function latestJobs(db: DbOrTx, sourceIds: string[]): Promise<Map<string, SyncJob>> {
  if (sourceIds.length === 0) return new Map();
  const rows = await db
    .selectDistinctOn([syncJobs.sourceId])
    .from(syncJobs)
    .where(inArray(syncJobs.sourceId, sourceIds))
    .orderBy(syncJobs.sourceId, desc(syncJobs.createdAt));
  return new Map(rows.map((r) => [r.sourceId, r]));
}

export type ListSourcesQuery = { limit?: number; cursor?: string };

// A page ends at a source's creation time (to the microsecond, as PostgreSQL keeps it) and id.
const createdAtText = sql<string>`to_char(${sources.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt = "", id = ""] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(createdAt) || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new AppError("bad_request", "The cursor is not valid; pass the nextCursor of a previous page.");
  }
  return { createdAt, id };
}

/**
 * Sources the actor may see, newest first, each with its latest job and file count (kept on
 * the source row). Without a limit, all of them (`nextCursor` null); with one, a page and the
 * cursor of the next. The latest jobs are selected by the same conditions as a subquery, not
 * by a list of ids: with 10,000 sources that list was 10,000 bind parameters per query.
 */
export async function listSources(db: DbOrTx, actor: Actor, query: ListSourcesQuery = {}) {
  const where: (SQL | undefined)[] = [visibleSources(actor)];
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    where.push(sql`(${sources.createdAt}, ${sources.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`);
  }
  const order = [desc(sources.createdAt), desc(sources.id)];
  const pageRows = db.select({ source: sources, createdAtText }).from(sources).where(and(...where)).orderBy(...order).$dynamic();
  const pageIds = db.select({ id: sources.id }).from(sources).where(and(...where)).orderBy(...order).$dynamic();
  if (query.limit) {
    pageRows.limit(query.limit + 1);
    pageIds.limit(query.limit + 1);
  }
  const [rows, jobRows] = await Promise.all([
    pageRows,
    db.selectDistinctOn([syncJobs.sourceId]).from(syncJobs).where(inArray(syncJobs.sourceId, pageIds)).orderBy(syncJobs.sourceId, desc(syncJobs.createdAt)),
  ]);
  const jobs = new Map(jobRows.map((r) => [r.sourceId, r]));
  const shown = query.limit ? rows.slice(0, query.limit) : rows;
  const last = shown.at(-1);
  const nextCursor = query.limit && rows.length > query.limit && last ? Buffer.from(`${last.createdAtText}|${last.source.id}`, "utf8").toString("base64url") : null;
  return { sources: shown.map(({ source }) => toSourceDto(source, { latestJob: jobs.get(source.id) ?? null })), nextCursor };
}
