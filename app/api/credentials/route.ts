import { readJson, withApi } from "@/lib/api/with-api";
import { createTokenCredential, listCredentials } from "@/lib/oauth/credentials";
import { createCredentialBody } from "@/lib/oauth/schemas";

// GET /api/credentials – the connected accounts and stored tokens the caller may use (no secrets)
export const GET = withApi(async ({ actor }) => ({ credentials: await listCredentials(actor) }));

// POST /api/credentials – store a personal access token (GitHub, GitLab) or a Bitbucket API token
export const POST = withApi(async ({ request, actor }) => {
  const body = createCredentialBody.parse(await readJson(request));
  return Response.json({ credential: await createTokenCredential(actor, body) }, { status: 201 });
});
