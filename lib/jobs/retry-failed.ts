import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { requestSync } from "@/lib/queue/request-sync";
import { failedPaths } from "./job-failures";
import { getJobOrThrow } from "./jobs";

/**
 * Queues an incremental sync of the files a finished job failed on (folded into a sync already
 * waiting, like any other request). A path that is gone upstream by now is removed from the index.
 */
export async function retryFailedFiles(
  actor: Actor,
  jobId: string,
): Promise<{ jobId: string; paths: number; coalesced: boolean }> {
  const job = await getJobOrThrow(actor, jobId);
  if (job.status === "queued" || job.status === "running") {
    throw new AppError("conflict", `The job is still ${job.status}; retry its failed files once it has finished.`);
  }
  const paths = await failedPaths(job.id);
  if (paths.length === 0) throw new AppError("conflict", "The job has no failed files to retry.");
  const queued = await requestSync({ sourceId: job.sourceId, type: "incremental", trigger: "retry", paths });
  return { jobId: queued.jobId, paths: paths.length, coalesced: queued.coalesced };
}
