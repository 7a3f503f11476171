import { searchParams, withApi } from "@/lib/api/with-api";
import { listJobFailures } from "@/lib/jobs/job-failures";
import { getJobOrThrow } from "@/lib/jobs/jobs";
import { jobFailuresQuery, jobIdParams } from "@/lib/sources/schemas";

// GET /api/jobs/:id/failures – the files the job could not index, and why
export const GET = withApi<{ id: string }>(async ({ request, params, actor }) => {
  const { id } = jobIdParams.parse(params);
  const { limit } = jobFailuresQuery.parse(searchParams(request));
  await getJobOrThrow(actor, id);
  return listJobFailures(id, limit);
});
