import { desc, inArray, sql } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { DbOrTx } from "@/lib/db/client";
import { files, sources, syncJobs, type SyncJob } from "@/lib/db/schema";
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

/**
 * Sources the actor may see, newest first, each with its latest job and file count. The jobs
 * and counts are selected by the same visibility condition as a subquery, not by a list of
 * ids: with 10,000 sources that list was 10,000 bind parameters per query, and the whole call
 * took about a second.
 */
export async function listSources(db: DbOrTx, actor: Actor) {
  const visible = db.select({ id: sources.id }).from(sources).where(visibleSources(actor));
  const [rows, jobRows, counts] = await Promise.all([
    db.select().from(sources).where(visibleSources(actor)).orderBy(desc(sources.createdAt)),
    db
      .selectDistinctOn([syncJobs.sourceId])
      .from(syncJobs)
      .where(inArray(syncJobs.sourceId, visible))
      .orderBy(syncJobs.sourceId, desc(syncJobs.createdAt)),
    db
      .select({ sourceId: files.sourceId, count: sql<number>`count(*)::int` })
      .from(files)
      .where(inArray(files.sourceId, visible))
      .groupBy(files.sourceId),
  ]);
  const jobs = new Map(jobRows.map((r) => [r.sourceId, r]));
  const countBySource = new Map(counts.map((c) => [c.sourceId, c.count]));
  return rows.map((s) => toSourceDto(s, { latestJob: jobs.get(s.id) ?? null, fileCount: countBySource.get(s.id) ?? 0 }));
}
