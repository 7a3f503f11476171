import { withApi } from "@/lib/api/with-api";
import { retryFailedFiles } from "@/lib/jobs/retry-failed";
import { jobIdParams } from "@/lib/sources/schemas";

// POST /api/jobs/:id/retry-failed – queue an incremental sync of the files the job failed on
export const POST = withApi<{ id: string }>(async ({ params, actor }) => {
  const { id } = jobIdParams.parse(params);
  return Response.json(await retryFailedFiles(actor, id), { status: 202 });
});
