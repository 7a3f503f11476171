import { and, desc, eq, inArray } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import type { DbOrTx } from "@/lib/db/client";
import { sources, syncJobs, type SyncJob } from "@/lib/db/schema";
import { visibleSources } from "@/lib/sources/get-source-or-throw";
import { toJobDto } from "@/lib/sources/serialize";

export async function listJobs(db: DbOrTx, actor: Actor, query: { sourceId?: string; status?: string; limit: number }) {
  const rows = await db
    .select({ job: syncJobs })
    .from(syncJobs)
    .innerJoin(sources, eq(sources.id, syncJobs.sourceId))
    .where(
      and(
        visibleSources(actor),
        query.sourceId ? eq(syncJobs.sourceId, query.sourceId) : undefined,
        query.status ? eq(syncJobs.status, query.status) : undefined,
      ),
    )
    .orderBy(desc(syncJobs.createdAt))
    .limit(query.limit);
  return rows.map((r) => toJobDto(r.job));
}

export async function getJobOrThrow(db: DbOrTx, actor: Actor, id: string): Promise<SyncJob> {
  const [row] = await db
    .select({ job: syncJobs })
    .from(syncJobs)
    .innerJoin(sources, eq(sources.id, syncJobs.sourceId))
    .where(and(eq(syncJobs.id, id), visibleSources(actor)));
  if (!row) throw new AppError("not_found", `No job with id ${id}.`);
  return row.job;
}

/**
 * Cancels a queued or running job. A running sync notices between batches and stops; what
 * it already wrote stays consistent (each batch is one transaction).
 */
export async function cancelJob(db: DbOrTx, actor: Actor, id: string) {
  const job = await getJobOrThrow(db, actor, id);
  const [cancelled] = await db
    .update(syncJobs)
    .set({ status: "cancelled", completedAt: new Date(), detail: null })
    .where(and(eq(syncJobs.id, job.id), inArray(syncJobs.status, ["queued", "running"])))
    .returning();
  if (!cancelled)
    throw new AppError("conflict", `The job is already ${job.status}; only queued or running jobs can be cancelled.`);
  return toJobDto(cancelled);
}
