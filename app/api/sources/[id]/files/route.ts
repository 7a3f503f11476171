import { searchParams, withApi } from "@/lib/api/with-api";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { listFiles } from "@/lib/sources/list-files";
import { listFilesQuery, sourceIdParams } from "@/lib/sources/schemas";

// GET /api/sources/:id/files – one page of indexed files (?cursor&limit&prefix&language)
export const GET = withApi<{ id: string }>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const query = listFilesQuery.parse(searchParams(request));
  await getSourceOrThrow(actor, id);
  return listFiles(id, query);
});
