import { withApi } from "@/lib/api/with-api";
import { getJobOrThrow } from "@/lib/jobs/jobs";
import { jobIdParams } from "@/lib/sources/schemas";
import { toJobDto } from "@/lib/sources/serialize";

// GET /api/jobs/:id – one sync job with its progress
export const GET = withApi<{ id: string }>(async ({ params, actor }) => {
  const { id } = jobIdParams.parse(params);
  return { job: toJobDto(await getJobOrThrow(actor, id)) };
});
