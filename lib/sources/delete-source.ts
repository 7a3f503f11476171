import { eq, sql } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { Db } from "@/lib/db/client";
import { pipelineDeliveries, sources } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { connectorForSource } from "@/lib/connectors/connector-for-source";
import { createPipeline } from "@/lib/pipeline/deliver";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";
import { getSourceOrThrow } from "./get-source-or-throw";

/**
 * Removes a source, its webhook and its files. The deletion of every file is recorded in the
 * same transaction and delivered to the pipeline by the send-to-pipeline job, so a consumer
 * downstream never keeps a file the index no longer has.
 */
export async function deleteSource(db: Db, actor: Actor, id: string): Promise<void> {
  const source = await getSourceOrThrow(db, actor, id);
  if (source.webhookId) {
    // A provider that cannot be reached (or a revoked token) must not keep the source alive:
    // a hook left behind only reaches a route that answers 202 to repositories it does not follow.
    try {
      const connector = await connectorForSource(source);
      await connector.removeWebhook?.(source.webhookId);
    } catch (err) {
      console.warn(`[sources] could not remove the ${source.type} webhook of source ${id}: ${(err as Error).message}`);
    }
  }
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
