import { and, inArray, ne } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { syncJobs } from "@/lib/db/schema";
import { getBoss } from "../boss";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";

/**
 * Safety net: every source with a waiting or interrupted sync gets a wake-up. The stately
 * queue drops the wake-up when one already waits, so this never runs a source twice.
 */
export const sweepSyncsJob = defineJob({
  name: QUEUES.sweepSyncs,
  schema: emptyPayload,
  handle: async () => {
    const rows = await getDb()
      .selectDistinct({ sourceId: syncJobs.sourceId })
      .from(syncJobs)
      .where(and(ne(syncJobs.type, "verify"), inArray(syncJobs.status, ["queued", "running"])));
    const boss = await getBoss();
    for (const { sourceId } of rows) await boss.send(QUEUES.syncSource, { sourceId }, { singletonKey: sourceId });
  },
});
