import { withApi } from "@/lib/api/with-api";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { sourceIdParams } from "@/lib/sources/schemas";
import { requestVerify } from "@/lib/verify/request-verify";

// POST /api/sources/:id/verify – queue a verify job that compares the index with the source
export const POST = withApi<{ id: string }>(async ({ params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  await getSourceOrThrow(actor, id);
  const { jobId } = await requestVerify(id, "api");
  return Response.json({ jobId }, { status: 202 });
});
