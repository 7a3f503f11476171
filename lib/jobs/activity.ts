import { and, count, desc, eq, gte, inArray } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { sources, syncJobs } from "@/lib/db/schema";
import { visibleSources } from "@/lib/sources/get-source-or-throw";
import { listLiveWorkers } from "@/lib/workers/list-live-workers";
import type { ActivityDto } from "./schemas";

/** Failures younger than this show in the activity indicator. */
const RECENT_MS = 24 * 3600 * 1000;

/** What the dashboard's activity indicator shows: live workers, queued and running jobs, and the last day's failed ones. */
export async function activitySummary(actor: Actor): Promise<ActivityDto> {
  const db = getDb();
  const [live, counts, failures] = await Promise.all([
    listLiveWorkers(),
    db
      .select({ status: syncJobs.status, n: count() })
      .from(syncJobs)
      .innerJoin(sources, eq(sources.id, syncJobs.sourceId))
      .where(and(inArray(syncJobs.status, ["queued", "running"]), visibleSources(actor)))
      .groupBy(syncJobs.status),
    db
      .select({
        jobId: syncJobs.id,
        sourceId: syncJobs.sourceId,
        sourceName: sources.name,
        errorMessage: syncJobs.errorMessage,
        completedAt: syncJobs.completedAt,
      })
      .from(syncJobs)
      .innerJoin(sources, eq(sources.id, syncJobs.sourceId))
      .where(
        and(
          eq(syncJobs.status, "failed"),
          gte(syncJobs.createdAt, new Date(Date.now() - RECENT_MS)),
          visibleSources(actor),
        ),
      )
      .orderBy(desc(syncJobs.createdAt))
      .limit(5),
  ]);
  const by = new Map(counts.map((c) => [c.status, c.n]));
  return {
    queued: by.get("queued") ?? 0,
    running: by.get("running") ?? 0,
    workers: live.length,
    recentFailures: failures.map((f) => ({ ...f, completedAt: f.completedAt?.toISOString() ?? null })),
  };
}
