import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeRequest = {
  method: string;
  path: string;
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
};
export type Injected = {
  match: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: string;
  times: number;
};
export type Handler = (req: FakeRequest, res: ServerResponse) => void | Promise<void>;

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(body));
}

/**
 * The plumbing every provider fake shares: a loopback server, a log of every request
 * (`METHOD /path`), and injected answers (`inject`) that replace the next N matching ones.
 */
export async function startHttpFake(handler: Handler) {
  const requests: FakeRequest[] = [];
  const injected: Injected[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const request: FakeRequest = {
        method: req.method ?? "GET",
        path: decodeURIComponent(url.pathname),
        rawPath: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      requests.push(request);
      const line = `${request.method} ${url.pathname}${url.search}`;
      const hit = injected.find((i) => i.times > 0 && i.match.test(line));
      if (hit) {
        hit.times--;
        res
          .writeHead(hit.status, { "content-type": "application/json; charset=utf-8", ...hit.headers })
          .end(hit.body ?? "{}");
        return;
      }
      try {
        await handler(request, res);
      } catch (err) {
        if (!res.headersSent) json(res, 500, { message: (err as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    inject(
      match: RegExp,
      status: number,
      options: { headers?: Record<string, string>; body?: string; times?: number } = {},
    ) {
      injected.push({ match, status, headers: options.headers, body: options.body, times: options.times ?? 1 });
    },
    /** Injected answers not given yet (sum of their remaining `times`). */
    pendingInjections: () => injected.reduce((n, i) => n + i.times, 0),
    clearInjections() {
      injected.length = 0;
    },
    /** `METHOD /path` of every request since `from` (and, given `until`, that arrived by then). */
    log(from = 0, until = Infinity): string[] {
      return requests
        .slice(from)
        .filter((r) => r.at <= until)
        .map((r) => `${r.method} ${r.path}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
