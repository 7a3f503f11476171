import { apiDocsPage } from "@/lib/api/api-docs";

// GET /api/docs – the API reference page, rendered from /api/openapi.json (open, like the document)
export const GET = async (): Promise<Response> => apiDocsPage();
