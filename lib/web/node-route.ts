import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, problemResponse } from "@/lib/api/errors";
import { MAX_WEBHOOK_BODY } from "@/lib/webhooks/receive-git-webhook";

/** A route handler as Next.js calls it (the routes served directly take no params). */
export type RouteHandler = (request: Request) => Promise<Response> | Response;

/** The largest body a direct route reads: the largest any of them accepts (git webhooks). */
const MAX_DIRECT_BODY = MAX_WEBHOOK_BODY;

// Request.url of a direct route: a fixed origin, never the Host header a client chose.
const ORIGIN = "http://localhost";

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_DIRECT_BODY)
    throw new AppError("payload_too_large", `Request bodies here are limited to ${MAX_DIRECT_BODY} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DIRECT_BODY)
      throw new AppError("payload_too_large", `Request bodies here are limited to ${MAX_DIRECT_BODY} bytes.`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  return new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, { ...headers, "content-length": String(body.length) });
  res.end(body);
}

/**
 * Serves one request with a route handler straight from Node's HTTP server: the same handler
 * Next.js runs for that route, without Next's request pipeline (which cost more than the
 * handler itself for webhooks, see server.ts).
 */
export async function serveRoute(handler: RouteHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let response: Response;
  try {
    const method = (req.method ?? "GET").toUpperCase();
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const body = method === "GET" || method === "HEAD" ? undefined : await readBody(req);
    response = await handler(new Request(new URL(req.url ?? "/", ORIGIN), { method, headers, body }));
  } catch (err) {
    req.resume();
    response = problemResponse(err);
  }
  await send(res, response);
}
