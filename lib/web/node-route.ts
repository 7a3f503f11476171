import type { IncomingMessage, ServerResponse } from "node:http";
import { problemResponse } from "@/lib/api/errors";

/** A route handler as Next.js calls it (the routes served directly take no params). */
export type RouteHandler = (request: Request) => Promise<Response> | Response;

// Request.url of a direct route: a fixed origin, never the Host header a client chose.
const ORIGIN = "http://localhost";

/**
 * The request body as a stream the handler pulls (one chunk at a time), so that the handler's
 * own body reading applies its caps and deadline as bytes arrive, exactly as under `next start`.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.pause();
        req.on("data", (chunk: Buffer) => {
          if (!open) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on("end", () => {
          if (open) controller.close();
          open = false;
        });
        req.on("error", (err) => {
          if (open) controller.error(err);
          open = false;
        });
      },
      pull() {
        req.resume();
      },
      cancel() {
        open = false;
      },
    },
    { highWaterMark: 1 },
  );
}

/** How long the rest of a refused body may take to arrive (and be dropped) before the connection is cut. */
const REFUSED_DRAIN_MS = 10_000;

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
 * handler itself for webhooks, see server.ts). The handler reads the body itself, within its
 * own caps; whatever it leaves unread is dropped.
 */
export async function serveRoute(handler: RouteHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let response: Response;
  const method = (req.method ?? "GET").toUpperCase();
  try {
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const body = method === "GET" || method === "HEAD" ? undefined : bodyStream(req);
    response = await handler(
      new Request(new URL(req.url ?? "/", ORIGIN), { method, headers, body, duplex: "half" } as RequestInit),
    );
  } catch (err) {
    response = problemResponse(err);
  }
  if (!req.complete) {
    // A body answered before it was read (refused) is read and dropped, so that the client gets
    // the answer on a connection it may reuse; one still arriving after REFUSED_DRAIN_MS is cut.
    req.removeAllListeners("data");
    req.resume();
    const timer = setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, REFUSED_DRAIN_MS).unref();
    req.once("end", () => clearTimeout(timer));
  }
  await send(res, response);
}
