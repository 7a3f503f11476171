import { readJson, withApi } from "@/lib/api/with-api";
import { getDb } from "@/lib/db/client";
import { deleteSource } from "@/lib/sources/delete-source";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { latestJobs } from "@/lib/sources/list-sources";
import { sourceIdParams, updateSourceBody } from "@/lib/sources/schemas";
import { toSourceDto } from "@/lib/sources/serialize";
import { updateSource } from "@/lib/sources/update-source";

type Params = { id: string };

// GET /api/sources/:id – one source with its latest job
export const GET = withApi<Params>(async ({ params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const source = await getSourceOrThrow(getDb(), actor, id);
  const jobs = await latestJobs(getDb(), [id]);
  return { source: toSourceDto(source, { latestJob: jobs.get(id) ?? null }) };
});

// PATCH /api/sources/:id – rename or change config
export const PATCH = withApi<Params>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const body = updateSourceBody.parse(await readJson(request));
  return { source: await updateSource(getDb(), actor, id, body) };
});

// DELETE /api/sources/:id – remove the source, its webhook and its files (deletions delivered)
export const DELETE = withApi<Params>(async ({ params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  await deleteSource(getDb(), actor, id);
  return new Response(null, { status: 204 });
});
