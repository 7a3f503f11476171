import { and, eq, sql } from "drizzle-orm";
import { syncJobs } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";

/**
 * Queues a redelivery of one source: its own sync_jobs row (type "redeliver"), never merged
 * into a sync, run by the source's sync-source queue in turn with its syncs. A redelivery
 * already waiting answers instead of a second one.
 */
export async function requestRedeliver(sourceId: string, trigger = "api"): Promise<{ jobId: string }> {
  const boss = await getBoss();
  return withTransaction(async (tx, executor) => {
    // The lock sync requests take: a waiting redelivery is not folded into, nor raced by, one.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${sourceId}, 0))`);
    const [waiting] = await tx
      .select({ id: syncJobs.id })
      .from(syncJobs)
      .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.type, "redeliver"), eq(syncJobs.status, "queued")));
    if (waiting) return { jobId: waiting.id };
    const [job] = await tx
      .insert(syncJobs)
      .values({ sourceId, type: "redeliver", trigger, status: "queued" })
      .returning({ id: syncJobs.id });
    await boss.insert(QUEUES.syncSource, [{ data: { sourceId }, singletonKey: sourceId }], { db: executor });
    return { jobId: job!.id };
  });
}
