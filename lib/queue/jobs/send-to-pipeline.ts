import { and, asc, eq, inArray } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { pipelineDeliveries } from "@/lib/db/schema";
import { createPipeline } from "@/lib/pipeline/deliver";
import { defineJob } from "../define-job";
import { QUEUES, sendToPipelinePayload } from "../names";

/**
 * Delivers the deletions recorded when a source was removed. Rows are marked delivered one
 * batch at a time, so a retry after a crash starts where the last one stopped.
 */
export const sendToPipelineJob = defineJob({
  name: QUEUES.sendToPipeline,
  schema: sendToPipelinePayload,
  handle: async ({ sourceId }) => {
    const db = getDb();
    const pipeline = createPipeline();
    for (;;) {
      const pending = await db
        .select()
        .from(pipelineDeliveries)
        .where(and(eq(pipelineDeliveries.sourceId, sourceId), eq(pipelineDeliveries.status, "pending")))
        .orderBy(asc(pipelineDeliveries.id))
        .limit(100);
      if (pending.length === 0) return;
      for (const delivery of pending) await pipeline.delete({ sourceId, path: delivery.path, sha: delivery.sha });
      await db
        .update(pipelineDeliveries)
        .set({ status: "delivered", deliveredAt: new Date() })
        .where(
          inArray(
            pipelineDeliveries.id,
            pending.map((d) => d.id),
          ),
        );
    }
  },
});
