import { withApi } from "@/lib/api/with-api";
import { openApiDocument } from "@/lib/api/openapi";
import { appOrigin } from "@/lib/oauth/flow";

export const dynamic = "force-dynamic";

// GET /api/openapi.json – the API reference, generated from the request schemas
export const GET = withApi(async ({ request }) => openApiDocument(appOrigin(request)));
