import { StatementParameters } from "@/lib/db/statement-parameters";
import { deliverChanges, pruneContents } from "@/lib/changes/deliver-changes";
import { deleteFilesCtes, recordedCtes } from "@/lib/changes/record-changes";
import type { Pipeline } from "@/lib/pipeline/deliver";
import type { IndexedFile } from "./file-processor";
import { countFiles } from "@/lib/metrics/counters";
import { FENCE_OK, FENCED, progressUnderFenceCtes, runFenced } from "./progress";

/**
 * Removes the rows of `paths` and appends their deletions to the outbox in one statement,
 * under the attempt's fence (progressUnderFenceCtes), then delivers them. A deletion a stage refuses is one failed file.
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
  // The embedded pipeline's deletions send nothing: recorded as delivered by the same statement.
  const p = new StatementParameters();
  const fenced = progressUnderFenceCtes(p, jobId, { processed: paths.length }, { sourceId, fence });
  const options = { delivered: pipeline.embedded, gate: FENCE_OK };
  const recorded = recordedCtes(["deleted"], FENCED, options);
  const ctes = [fenced, deleteFilesCtes(p, FENCED, paths, options), ...recorded.ctes];
  const { deleted, garbage } = await runFenced<{ garbage: string[] | null; deleted: number }>(
    ctes,
    `${recorded.garbage}, (select count(*)::int from gone) as deleted`,
    p,
  );
  countFiles("deleted", deleted);
  if (pipeline.embedded) return pruneContents(garbage ?? []);
  await deliverChanges({ sourceId, fence, jobId, pipeline, onWait: setDetail, paths });
}
