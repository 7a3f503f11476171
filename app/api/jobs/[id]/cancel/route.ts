import { withApi } from "@/lib/api/with-api";
import { cancelJob } from "@/lib/jobs/jobs";
import { jobIdParams } from "@/lib/sources/schemas";

// POST /api/jobs/:id/cancel – cancel a queued or running job
export const POST = withApi<{ id: string }>(async ({ params, actor }) => {
  const { id } = jobIdParams.parse(params);
  return Response.json({ job: await cancelJob(actor, id) }, { status: 202 });
});
