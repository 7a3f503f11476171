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

/** Sources the actor may see, newest first, each with its latest job and file count. */
export async function listSources(db: DbOrTx, actor: Actor) {
  const rows = await db.select().from(sources).where(visibleSources(actor)).orderBy(desc(sources.createdAt));
  const ids = rows.map((r) => r.id);
  const jobs = await latestJobs(db, ids);
  const counts =
    ids.length === 0
      ? []
      : await db
          .select({ sourceId: files.sourceId, count: sql<number>`count(*)::int` })
          .from(files)
          .where(inArray(files.sourceId, ids))
          .groupBy(files.sourceId);
  const countBySource = new Map(counts.map((c) => [c.sourceId, c.count]));
  return rows.map((s) => toSourceDto(s, { latestJob: jobs.get(s.id) ?? null, fileCount: countBySource.get(s.id) ?? 0 }));
}
