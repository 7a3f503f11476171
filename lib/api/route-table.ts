// Every route under /api/ and the methods it answers. The proxy answers anything else with
// problem+json (404 for an unknown path, 405 with Allow for an unknown method) before Next's
// HTML 404 page could; a test keeps this table equal to the route files and the OpenAPI document.
// Pure data and string work: the proxy imports it, so it must not pull in server code.

export const API_ROUTES: Readonly<Record<string, readonly string[]>> = {
  "/api/activity": ["GET"],
  "/api/auth/[...nextauth]": ["GET", "POST"],
  "/api/changes": ["GET"],
  "/api/credentials": ["GET", "POST"],
  "/api/credentials/[id]": ["GET", "DELETE"],
  "/api/docs": ["GET"],
  "/api/docs/[asset]": ["GET"],
  "/api/health": ["GET"],
  "/api/jobs": ["GET"],
  "/api/jobs/[id]": ["GET"],
  "/api/jobs/[id]/cancel": ["POST"],
  "/api/jobs/[id]/failures": ["GET"],
  "/api/jobs/[id]/retry-failed": ["POST"],
  "/api/metrics": ["GET"],
  "/api/oauth/[provider]/authorize": ["GET"],
  "/api/oauth/[provider]/callback": ["GET"],
  "/api/openapi.json": ["GET"],
  "/api/providers/[type]/browse": ["POST"],
  "/api/sources": ["GET", "POST"],
  "/api/sources/[id]": ["GET", "PATCH", "DELETE"],
  "/api/sources/[id]/changes": ["GET"],
  "/api/sources/[id]/files": ["GET"],
  "/api/sources/[id]/files/content": ["GET"],
  "/api/sources/[id]/sync": ["POST"],
  "/api/sources/[id]/verify": ["POST"],
  "/api/sources/[id]/webhook-events": ["GET"],
  "/api/webhooks/bitbucket": ["POST"],
  "/api/webhooks/dropbox": ["GET", "POST"],
  "/api/webhooks/gdrive": ["POST"],
  "/api/webhooks/github": ["POST"],
  "/api/webhooks/gitlab": ["POST"],
};

const MATCHERS = Object.entries(API_ROUTES).map(([route, methods]) => {
  const pattern = route
    .split("/")
    .map((segment) =>
      segment.startsWith("[...") ? ".+" : segment.startsWith("[") ? "[^/]+" : segment.replace(/[.]/g, "\\."),
    )
    .join("/");
  return { regex: new RegExp(`^${pattern}/?$`), methods };
});

/** The methods a path under /api/ answers (HEAD with GET; OPTIONS always), or null for an unknown path. */
export function allowedMethods(pathname: string): string[] | null {
  const match = MATCHERS.find((m) => m.regex.test(pathname));
  if (!match) return null;
  return [...match.methods, ...(match.methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"];
}

function problem(status: 404 | 405, detail: string, headers: Record<string, string> = {}): Response {
  const title = status === 404 ? "Not Found" : "Method Not Allowed";
  const code = status === 404 ? "not_found" : "method_not_allowed";
  return new Response(JSON.stringify({ type: `urn:data-connector:error:${code}`, title, status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/** problem+json for a request no route answers, or null when one does. */
export function unknownApiRequest(method: string, pathname: string): Response | null {
  const allowed = allowedMethods(pathname);
  if (!allowed) {
    return problem(
      404,
      `There is no API route at ${pathname}. The routes are listed at /api/docs (/api/openapi.json).`,
    );
  }
  if (allowed.includes(method.toUpperCase())) return null;
  return problem(405, `${pathname} does not answer ${method.toUpperCase()}; it answers ${allowed.join(", ")}.`, {
    allow: allowed.join(", "),
  });
}
