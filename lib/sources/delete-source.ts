import { eq, sql } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { Db } from "@/lib/db/client";
import { pipelineDeliveries, sources } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { createPipeline } from "@/lib/pipeline/deliver";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";
import { getSourceOrThrow } from "./get-source-or-throw";
import { removeSourceWebhook } from "./source-webhook";

/**
 * Removes a source, its webhook and its files. The deletion of every file is recorded in the
 * same transaction and delivered to the pipeline by the send-to-pipeline job, so a consumer
 * downstream never keeps a file the index no longer has.
 */
export async function deleteSource(db: Db, actor: Actor, id: string): Promise<void> {
  const source = await getSourceOrThrow(db, actor, id);
  await removeSourceWebhook(source);
  const pipeline = createPipeline();
  const boss = await getBoss();
  await withTransaction(async (tx, executor) => {
    // The embedded pipeline's chunks go with the rows (cascade): nothing is left to deliver.
    const status = pipeline.embedded ? "delivered" : "pending";
    await tx.execute(sql`
      insert into ${pipelineDeliveries} (source_id, path, sha, op, status, delivered_at)
      select source_id, path, sha, 'delete', ${status}, ${pipeline.embedded ? sql`now()` : sql`null`}
      from files where source_id = ${id}`);
    await tx.delete(sources).where(eq(sources.id, id));
    if (!pipeline.embedded) await boss.send(QUEUES.sendToPipeline, { sourceId: id }, { db: executor });
  });
}
