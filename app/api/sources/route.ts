import { readJson, searchParams, withApi } from "@/lib/api/with-api";
import { createSource } from "@/lib/sources/create-source";
import { countSourcesByStatus, listSources } from "@/lib/sources/list-sources";
import { createSourceBody, listSourcesQuery } from "@/lib/sources/schemas";

// POST /api/sources – connect a source and queue its first full sync
export const POST = withApi(async ({ request, actor }) => {
  const body = createSourceBody.parse(await readJson(request));
  return Response.json(await createSource(actor, body), { status: 201 });
});

// GET /api/sources – the sources the caller may see, each with its latest job (?q&type&status&sort&limit&cursor)
export const GET = withApi(async ({ request, actor }) => {
  const query = listSourcesQuery.parse(searchParams(request));
  const [page, statusCounts] = await Promise.all([listSources(actor, query), countSourcesByStatus(actor, query)]);
  return { ...page, statusCounts };
});
