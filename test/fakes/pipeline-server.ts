import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type PipelineRequest = { stage: string; route: string; key: string; body: Record<string, unknown> };

/**
 * A loopback stand-in for the downstream stages: records every request with its
 * idempotency key; `failNext` makes the next N requests answer 500.
 */
export async function startPipelineFake() {
  const requests: PipelineRequest[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const [, stage, route] = (req.url ?? "").split("/");
      if (failures > 0) {
        failures--;
        res.writeHead(500, { "content-type": "application/json" }).end('{"error":"injected"}');
        return;
      }
      const body = JSON.parse(raw || "{}");
      requests.push({ stage: stage!, route: `/${route}`, key: String(req.headers["idempotency-key"] ?? ""), body });
      res.writeHead(200, { "content-type": "application/json" });
      if (route === "chunk") res.end(JSON.stringify({ chunks: [{ content: body.content, startLine: 1, endLine: 1 }] }));
      else if (route === "embed") res.end(JSON.stringify({ embeddings: [[0.1, 0.2]] }));
      else res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    env: { PIPELINE_NORMALIZE_URL: `${base}/normalize`, PIPELINE_CHUNK_URL: `${base}/chunk`, PIPELINE_EMBED_URL: `${base}/embed`, PIPELINE_GRAPH_URL: `${base}/graph` },
    failNext(n: number) {
      failures = n;
    },
    /** Deliveries that reached the last stage: upserts at graph/store, deletes at graph/delete. */
    delivered(route: "/store" | "/delete") {
      return requests.filter((r) => r.stage === "graph" && r.route === route);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
