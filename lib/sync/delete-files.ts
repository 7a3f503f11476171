import { and, eq, inArray } from "drizzle-orm";
import { files, pipelineDeliveries } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import type { Pipeline } from "@/lib/pipeline/deliver";
import type { IndexedFile } from "./file-processor";
import { addProgress, SyncCancelledError } from "./progress";

/** Delivers the deletion of `paths`, then removes their rows and logs the deletions in one transaction. */
export async function deleteIndexedFiles(
  sourceId: string,
  jobId: string,
  paths: string[],
  existing: Map<string, IndexedFile>,
  pipeline: Pipeline,
  setDetail: (detail: string | null) => Promise<void>,
): Promise<void> {
  if (paths.length === 0) return;
  for (const path of paths) await pipeline.delete({ sourceId, path, sha: existing.get(path)?.sha ?? null }, setDetail);
  await withTransaction(async (tx) => {
    if (!(await addProgress(tx, jobId, { processed: paths.length }))) throw new SyncCancelledError();
    const removed = await tx
      .delete(files)
      .where(and(eq(files.sourceId, sourceId), inArray(files.path, paths)))
      .returning({ path: files.path, sha: files.sha });
    if (removed.length > 0) {
      await tx
        .insert(pipelineDeliveries)
        .values(
          removed.map((r) => ({ sourceId, jobId, path: r.path, sha: r.sha, op: "delete", deliveredAt: new Date() })),
        );
    }
  });
}
