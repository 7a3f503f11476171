import { readJson, withApi } from "@/lib/api/with-api";
import { deleteSource } from "@/lib/sources/delete-source";
import { getSourceDetail } from "@/lib/sources/get-source-detail";
import { sourceIdParams, updateSourceBody } from "@/lib/sources/schemas";
import { updateSource } from "@/lib/sources/update-source";

type Params = { id: string };

// GET /api/sources/:id – one source with its latest job and file count
export const GET = withApi<Params>(async ({ params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  return { source: await getSourceDetail(actor, id) };
});

// PATCH /api/sources/:id – rename or change config
export const PATCH = withApi<Params>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const body = updateSourceBody.parse(await readJson(request));
  return { source: await updateSource(actor, id, body) };
});

// DELETE /api/sources/:id – remove the source, its webhook and its files (deletions delivered)
export const DELETE = withApi<Params>(async ({ params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  await deleteSource(actor, id);
  return new Response(null, { status: 204 });
});
