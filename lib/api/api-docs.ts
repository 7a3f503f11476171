import { readFile } from "node:fs/promises";
import path from "node:path";
import { AppError } from "./errors";

// /api/docs: Swagger UI (the swagger-ui-dist package's own bundle, served from this app so the
// page works offline) rendering /api/openapi.json.

const ASSETS: Record<string, { file?: string; type: string; body?: string }> = {
  "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
  "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: "text/javascript; charset=utf-8" },
  "init.js": {
    type: "text/javascript; charset=utf-8",
    body: `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#api", deepLinking: true, displayOperationId: true });\n`,
  },
};

export function apiDocsPage(): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference · Data Connector</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}

export async function apiDocsAsset(name: string): Promise<Response> {
  const asset = ASSETS[name];
  if (!asset) throw new AppError("not_found", `/api/docs has no asset ${name}.`);
  const body = asset.body ?? (await readFile(path.join(process.cwd(), "node_modules", "swagger-ui-dist", asset.file!)));
  return new Response(body, {
    headers: { "content-type": asset.type, "cache-control": "public, max-age=3600" },
  });
}
