import { and, eq, inArray } from "drizzle-orm";
import { files } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { deliverChanges, pruneContents } from "@/lib/changes/deliver-changes";
import { recordDeletes } from "@/lib/changes/record-changes";
import type { Pipeline } from "@/lib/pipeline/deliver";
import type { IndexedFile } from "./file-processor";
import { countFiles } from "@/lib/metrics/counters";
import { addProgressUnderFence } from "./progress";

/**
 * Removes the rows of `paths` and appends their deletions to the outbox in one transaction,
 * under the attempt's fence, then delivers them. A deletion a stage refuses is one failed file.
 */
export async function deleteIndexedFiles(
  sourceId: string,
  jobId: string,
  paths: string[],
  _existing: Map<string, IndexedFile>,
  pipeline: Pipeline,
  setDetail: (detail: string | null) => Promise<void>,
  fence: number,
): Promise<void> {
  if (paths.length === 0) return;
  // The embedded pipeline's deletions send nothing: recorded as delivered in the same transaction.
  const delivered = { delivered: pipeline.embedded };
  let deleted = 0;
  const garbage = await withTransaction(async (tx, _executor, client) => {
    const { ownerId } = await addProgressUnderFence(tx, jobId, { processed: paths.length }, { sourceId, fence });
    const removed = await tx
      .delete(files)
      .where(and(eq(files.sourceId, sourceId), inArray(files.path, paths)))
      .returning({ path: files.path, sha: files.sha });
    deleted = removed.length;
    return recordDeletes(client, { sourceId, ownerId, jobId }, removed, delivered);
  });
  countFiles("deleted", deleted);
  if (pipeline.embedded) return pruneContents(garbage);
  await deliverChanges({ sourceId, fence, jobId, pipeline, onWait: setDetail, paths });
}
