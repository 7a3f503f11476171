import { searchParams, withApi } from "@/lib/api/with-api";
import { getFileContent } from "@/lib/sources/get-file-content";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { fileContentQuery, sourceIdParams } from "@/lib/sources/schemas";

// GET /api/sources/:id/files/content?path= – one file's text and its chunks
export const GET = withApi<{ id: string }>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const { path } = fileContentQuery.parse(searchParams(request));
  await getSourceOrThrow(actor, id);
  return getFileContent(id, path);
});
