import { withPublicApi } from "@/lib/api/with-api";
import { apiDocsAsset } from "@/lib/api/api-docs";

// GET /api/docs/:asset – the reference page's script and style, served from this app (no CDN)
export const GET = withPublicApi<{ asset: string }>(async ({ params }) => apiDocsAsset(params.asset));
