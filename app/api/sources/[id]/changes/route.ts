import { searchParams, withApi } from "@/lib/api/with-api";
import { listChanges } from "@/lib/changes/list-changes";
import { changesQuery } from "@/lib/changes/schemas";
import { sourceIdParams } from "@/lib/sources/schemas";

// GET /api/sources/:id/changes – one source's changes feed, in seq order (?after&limit&wait); readable after its deletion
export const GET = withApi<{ id: string }>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const query = changesQuery.parse(searchParams(request));
  return listChanges({ actor, sourceId: id }, query, request.signal);
});
