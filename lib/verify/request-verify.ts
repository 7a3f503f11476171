import { and, eq, inArray, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { syncJobs } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";

const STALE_WAIT_MS = 3600_000;

export type VerifyTrigger = "api" | "schedule" | "after-error";

/**
 * Queues a verify job of one source: its own sync_jobs row (type "verify"), never merged into
 * a sync. A verify already waiting for the source answers instead of a second one.
 */
export async function requestVerify(sourceId: string, trigger: VerifyTrigger): Promise<{ jobId: string }> {
  const boss = await getBoss();
  return withTransaction(async (tx, executor) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`verify:${sourceId}`}, 0))`);
    const [waiting] = await tx
      .select({ id: syncJobs.id, createdAt: syncJobs.createdAt })
      .from(syncJobs)
      .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.type, "verify"), eq(syncJobs.status, "queued")));
    if (waiting) {
      // A wake-up lost with its queue row would leave the verify waiting forever: after an hour
      // it gets another (a verify that runs twice only compares twice).
      if (Date.now() - waiting.createdAt.getTime() > STALE_WAIT_MS)
        await boss.insert(QUEUES.verifySource, [{ data: { jobId: waiting.id } }], { db: executor });
      return { jobId: waiting.id };
    }
    const [job] = await tx
      .insert(syncJobs)
      .values({ sourceId, type: "verify", trigger, status: "queued" })
      .returning({ id: syncJobs.id });
    await boss.insert(QUEUES.verifySource, [{ data: { jobId: job!.id } }], { db: executor });
    return { jobId: job!.id };
  });
}

/**
 * After a sync that hit an error (it failed, or some files did), a verify checks what the
 * index now holds. Repairs queued by a verify are left out: their errors would loop. So are
 * redeliveries: they send stored copies downstream and leave the index as it was.
 */
export async function verifyAfterError(syncJobId: string): Promise<void> {
  const [job] = await getDb()
    .select({
      sourceId: syncJobs.sourceId,
      type: syncJobs.type,
      trigger: syncJobs.trigger,
      status: syncJobs.status,
      filesFailed: syncJobs.filesFailed,
    })
    .from(syncJobs)
    .where(and(eq(syncJobs.id, syncJobId), inArray(syncJobs.status, ["completed", "failed"])));
  if (!job || job.trigger === "verify" || job.type === "redeliver") return;
  if (job.status === "failed" || job.filesFailed > 0) await requestVerify(job.sourceId, "after-error");
}
