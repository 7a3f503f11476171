import { withPublicApi } from "@/lib/api/with-api";
import { openApiDocument } from "@/lib/api/openapi";
import { appOrigin } from "@/lib/oauth/flow";

export const dynamic = "force-dynamic";

// GET /api/openapi.json – the API reference, generated from the zod schemas (open: it holds no secret)
export const GET = withPublicApi(async ({ request }) => openApiDocument(appOrigin(request)));
