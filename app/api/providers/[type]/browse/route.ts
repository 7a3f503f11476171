import { readJson, withApi } from "@/lib/api/with-api";
import { browseBody, browseProvider } from "@/lib/sources/browse-provider";

// POST /api/providers/:type/browse – list an account's repositories, branches or folders (the connect page's pickers)
export const POST = withApi<{ type: string }>(async ({ request, params, actor }) => {
  const body = browseBody.parse(await readJson(request));
  return browseProvider(actor, params.type, body);
});
