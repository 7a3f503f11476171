import { and, eq, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources, syncJobs, type SyncJob } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import type { Pipeline } from "@/lib/pipeline/deliver";
import { SyncCancelledError } from "./attempt-errors";
import { deliverChanges } from "./deliver-changes";
import { assertFence } from "./fence";

/**
 * Appends the redelivery's changes, once per job: an upsert of every indexed file under the
 * source's next redelivery generation. A retried attempt finds them already appended (and
 * delivers what is still pending). Returns how many files the job redelivers.
 */
async function appendRedelivery(job: SyncJob, fence: number): Promise<number> {
  return withTransaction(async (tx, _executor, client) => {
    // The job's row before the source's, in the order batch transactions take them.
    await tx.execute(sql`select 1 from ${syncJobs} where ${syncJobs.id} = ${job.id} for update`);
    const { ownerId } = await assertFence(tx, job.sourceId, fence);
    const appended = await client.query<{ count: string }>(
      `select count(*) as count from changes where source_id = $1 and job_id = $2`,
      [job.sourceId, job.id],
    );
    const already = Number(appended.rows[0]!.count);
    if (already > 0) return already;
    const [source] = await tx
      .update(sources)
      .set({ redeliveryGeneration: sql`${sources.redeliveryGeneration} + 1` })
      .where(eq(sources.id, job.sourceId))
      .returning({ generation: sources.redeliveryGeneration });
    const inserted = await client.query(
      `insert into changes (source_id, owner_id, job_id, op, path, sha, size, language, generation)
       select source_id, $2, $3, 'upsert', path, sha, size, language, $4
       from files where source_id = $1 and sha is not null
       order by path`,
      [job.sourceId, ownerId, job.id, source!.generation],
    );
    return inserted.rowCount ?? 0;
  });
}

/** The job's counters as its recorded changes say (a retried attempt resumes from them). */
async function resumeProgress(job: SyncJob, total: number): Promise<void> {
  await getDb().execute(sql`
    update ${syncJobs} set
      files_total = ${total},
      files_skipped = 0,
      files_processed = (select count(*) from changes where source_id = ${job.sourceId} and job_id = ${job.id} and status in ('delivered', 'superseded')),
      files_failed = (select count(*) from changes where source_id = ${job.sourceId} and job_id = ${job.id} and status = 'failed')
    where id = ${job.id}`);
}

/**
 * A redelivery job: hands every indexed file to the pipeline again, as a new generation
 * (its idempotency keys differ from every earlier delivery's, so consumers apply the replay),
 * read from the stored contents (no provider is asked). Fenced like a sync attempt; progress
 * counts files as they are delivered.
 */
export async function runRedelivery(job: SyncJob, fence: number, pipeline: Pipeline): Promise<void> {
  const total = await appendRedelivery(job, fence);
  await resumeProgress(job, total);
  const setDetail = async (detail: string | null) => {
    await getDb().update(syncJobs).set({ detail }).where(eq(syncJobs.id, job.id));
  };
  await deliverChanges({
    sourceId: job.sourceId,
    fence,
    jobId: job.id,
    pipeline,
    onWait: setDetail,
    countProgress: true,
  });
  await withTransaction(async (tx) => {
    const [done] = await tx
      .update(syncJobs)
      .set({ status: "completed", progress: 100, detail: null, errorMessage: null, completedAt: new Date() })
      .where(and(eq(syncJobs.id, job.id), eq(syncJobs.status, "running")))
      .returning({ id: syncJobs.id });
    if (!done) throw new SyncCancelledError();
    await assertFence(tx, job.sourceId, fence);
  });
}
