import { withApi } from "@/lib/api/with-api";
import { startAuthorization } from "@/lib/oauth/flow";
import { oauthProviderParam } from "@/lib/oauth/providers";

export const dynamic = "force-dynamic";

// GET /api/oauth/:provider/authorize – send the browser to the provider with state and PKCE
export const GET = withApi<{ provider: string }>(async ({ request, params, actor }) => {
  const provider = oauthProviderParam.parse(params.provider);
  const returnTo = new URL(request.url).searchParams.get("returnTo");
  const { location, setCookie } = await startAuthorization({ provider, actor, request, returnTo });
  const headers = new Headers({ location, "cache-control": "no-store" });
  if (setCookie) headers.append("set-cookie", setCookie);
  return new Response(null, { status: 302, headers });
});
