import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import { bumpFence } from "@/lib/changes/fence";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { sources, syncJobs, type SyncJob } from "@/lib/db/schema";
import { visibleSources } from "@/lib/sources/get-source-or-throw";
import type { ListJobsResponse } from "@/lib/sources/schemas";
import { toJobDto } from "@/lib/sources/serialize";

export type ListJobsQuery = {
  sourceId?: string;
  status?: string[];
  type?: string[];
  trigger?: string[];
  limit: number;
  cursor?: string;
};

function decodeJobCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt = "", id = ""] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d(:\d\d)?$/.test(createdAt) || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new AppError("bad_request", "The cursor is not valid; pass the nextCursor of a previous page.");
  }
  return { createdAt, id };
}

/**
 * Jobs of the sources the actor may see, newest first, filtered and paged: `nextCursor` resumes
 * after the last one (null on the last page). Each job carries its source's name for lists.
 */
export async function listJobs(actor: Actor, query: ListJobsQuery): Promise<ListJobsResponse> {
  const after = query.cursor ? decodeJobCursor(query.cursor) : null;
  const rows = await getDb()
    .select({
      job: syncJobs,
      sourceName: sources.name,
      createdAtText: sql<string>`${syncJobs.createdAt}::text`,
    })
    .from(syncJobs)
    .innerJoin(sources, eq(sources.id, syncJobs.sourceId))
    .where(
      and(
        visibleSources(actor),
        query.sourceId ? eq(syncJobs.sourceId, query.sourceId) : undefined,
        query.status?.length ? inArray(syncJobs.status, query.status) : undefined,
        query.type?.length ? inArray(syncJobs.type, query.type) : undefined,
        query.trigger?.length ? inArray(syncJobs.trigger, query.trigger) : undefined,
        after
          ? sql`(${syncJobs.createdAt}, ${syncJobs.id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(syncJobs.createdAt), desc(syncJobs.id))
    .limit(query.limit + 1);
  const shown = rows.slice(0, query.limit);
  const last = shown.at(-1);
  return {
    jobs: shown.map((r) => ({ ...toJobDto(r.job), sourceName: r.sourceName })),
    nextCursor:
      rows.length > query.limit && last
        ? Buffer.from(`${last.createdAtText}|${last.job.id}`, "utf8").toString("base64url")
        : null,
  };
}

export async function getJobOrThrow(actor: Actor, id: string): Promise<SyncJob> {
  const [row] = await getDb()
    .select({ job: syncJobs })
    .from(syncJobs)
    .innerJoin(sources, eq(sources.id, syncJobs.sourceId))
    .where(and(eq(syncJobs.id, id), visibleSources(actor)));
  if (!row) throw new AppError("not_found", `No job with id ${id}.`);
  return row.job;
}

/**
 * Cancels a queued or running job. A running one is fenced off at once: it writes and delivers
 * nothing more, wherever its batches run; what it already wrote stays consistent (each batch
 * is one transaction) and its undelivered changes are delivered by the next sync.
 */
export async function cancelJob(actor: Actor, id: string) {
  const job = await getJobOrThrow(actor, id);
  const [cancelled] = await getDb()
    .update(syncJobs)
    .set({ status: "cancelled", completedAt: new Date(), detail: null })
    .where(and(eq(syncJobs.id, job.id), inArray(syncJobs.status, ["queued", "running"])))
    .returning();
  if (!cancelled)
    throw new AppError("conflict", `The job is already ${job.status}; only queued or running jobs can be cancelled.`);
  if (job.status === "running") await bumpFence(job.sourceId);
  return toJobDto(cancelled);
}
