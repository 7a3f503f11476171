import { searchParams, withApi } from "@/lib/api/with-api";
import { listChanges } from "@/lib/changes/list-changes";
import { changesQuery } from "@/lib/changes/schemas";

// GET /api/changes – the changes feed of every source the caller may see, in seq order (?after&limit&wait)
export const GET = withApi(async ({ request, actor }) => {
  const query = changesQuery.parse(searchParams(request));
  return listChanges({ actor }, query, request.signal);
});
