import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type PipelineRequest = {
  stage: string;
  route: string;
  key: string;
  body: Record<string, unknown>;
  tag: string | null;
  at: number;
};

/**
 * A loopback stand-in for the downstream stages: records every request with its
 * idempotency key; `failNext` makes the next N requests answer 500, `failFor` every request
 * for a while. URLs may carry a tag first (`/<tag>/<stage>/<route>`, see `envFor`) so that
 * each worker process can be told apart. Like a consumer that honours the idempotency key,
 * it applies each key once per stage and route: a repeated key is counted in `repeats`, not
 * applied again.
 */
export async function startPipelineFake() {
  const requests: PipelineRequest[] = [];
  /** stage + route + key → how many times it was accepted (1 = applied once). */
  const accepted = new Map<string, number>();
  let failures = 0;
  let failUntil = 0;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const parts = (req.url ?? "").split("/").filter(Boolean);
      const [tag, stage, route] = parts.length >= 3 ? parts : [null, ...parts];
      if (failures > 0 || Date.now() < failUntil) {
        if (failures > 0) failures--;
        refused++;
        res.writeHead(500, { "content-type": "application/json" }).end('{"error":"injected"}');
        return;
      }
      const body = JSON.parse(raw || "{}");
      const key = String(req.headers["idempotency-key"] ?? "");
      requests.push({ stage: stage!, route: `/${route}`, key, body, tag: tag ?? null, at: Date.now() });
      const id = `${stage}/${route}/${key}`;
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
      res.writeHead(200, { "content-type": "application/json" });
      if (route === "chunk") res.end(JSON.stringify({ chunks: [{ content: body.content, startLine: 1, endLine: 1 }] }));
      else if (route === "embed") res.end(JSON.stringify({ embeddings: [[0.1, 0.2]] }));
      else res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const envFor = (tag?: string) => {
    const root = tag ? `${base}/${tag}` : base;
    return {
      PIPELINE_NORMALIZE_URL: `${root}/normalize`,
      PIPELINE_CHUNK_URL: `${root}/chunk`,
      PIPELINE_EMBED_URL: `${root}/embed`,
      PIPELINE_GRAPH_URL: `${root}/graph`,
    };
  };
  return {
    base,
    requests,
    env: envFor(),
    /** The stage URLs for one worker process, its requests marked with `tag`. */
    envFor,
    failNext(n: number) {
      failures = n;
    },
    /** Every request answers 500 for `ms` milliseconds from now. */
    failFor(ms: number) {
      failUntil = Date.now() + ms;
    },
    /** Requests answered with an injected 500. */
    refused: () => refused,
    /** Deliveries that reached the last stage: upserts at graph/store, deletes at graph/delete. */
    delivered(route: "/store" | "/delete") {
      return requests.filter((r) => r.stage === "graph" && r.route === route);
    },
    /**
     * What the consumer applied at the last stage, by idempotency key: `applied` keys (each
     * applied once), `repeats` (requests that carried a key already applied: at-least-once
     * redeliveries a consumer must ignore) and, per path, the distinct keys applied.
     */
    ledger(route: "/store" | "/delete" = "/store") {
      const rows = requests.filter((r) => r.stage === "graph" && r.route === route);
      const keysByPath = new Map<string, Set<string>>();
      for (const r of rows) {
        const p = `${r.body.sourceId}:${r.body.path}`;
        if (!keysByPath.has(p)) keysByPath.set(p, new Set());
        keysByPath.get(p)!.add(r.key);
      }
      const applied = new Set(rows.map((r) => r.key));
      return { applied: applied.size, repeats: rows.length - applied.size, keysByPath };
    },
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
