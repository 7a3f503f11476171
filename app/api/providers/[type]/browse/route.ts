import { readJson, withApi } from "@/lib/api/with-api";
import { browseBody, browseProvider } from "@/lib/sources/browse-provider";
import { getDb } from "@/lib/db/client";

// POST /api/providers/:type/browse – list an account's repositories, branches or folders (the connect page's pickers)
export const POST = withApi<{ type: string }>(async ({ request, params, actor }) => {
  const body = browseBody.parse(await readJson(request));
  return browseProvider(getDb(), actor, params.type, body);
});
