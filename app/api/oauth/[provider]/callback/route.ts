import { withPublicApi } from "@/lib/api/with-api";
import { actorForSession } from "@/lib/auth/session";
import { completeAuthorization } from "@/lib/oauth/flow";
import { oauthProviderParam } from "@/lib/oauth/providers";

export const dynamic = "force-dynamic";

// GET /api/oauth/:provider/callback – check the state, exchange the code, store the credential
export const GET = withPublicApi<{ provider: string }>(async ({ request, params }) => {
  const provider = oauthProviderParam.parse(params.provider);
  const session = await actorForSession(request);
  const outcome = await completeAuthorization({ provider, request, sessionUserId: session?.userId ?? null });
  return new Response(null, { status: 303, headers: { location: outcome.location, "cache-control": "no-store" } });
});
