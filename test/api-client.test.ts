import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import createClient from "openapi-fetch";
import * as sourcesRoute from "@/app/api/sources/route";
import { API_ROUTES } from "@/lib/api/route-table";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { API_TYPES_FILE, generateApiTypes } from "@/scripts/generate-api-types";
import type { paths } from "./generated/api";
import { call, closeAll, operatorToken, resetDb, tempDir, waitForJob, writeTree } from "./helpers";

const roots = tempDir("dc-client-roots-");
process.env.LOCAL_SOURCE_ROOTS = roots;

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

/**
 * A fetch that serves requests from the route handlers in this process, as Next.js would:
 * the route is found in the route table and its file's handler called with the path's params.
 */
async function routeFetch(input: Request): Promise<Response> {
  const { pathname } = new URL(input.url);
  for (const route of Object.keys(API_ROUTES)) {
    const names: string[] = [];
    const pattern = route.replace(/\[(\w+)\]/g, (_, name: string) => (names.push(name), "([^/]+)"));
    const match = new RegExp(`^${pattern}$`).exec(pathname);
    if (!match) continue;
    const mod = (await import(path.resolve(`app${route}/route.ts`))) as Record<string, Handler>;
    const handler = mod[input.method];
    if (!handler) return new Response(null, { status: 405 });
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
    return handler(input, { params: Promise.resolve(params) });
  }
  return new Response(null, { status: 404 });
}

describe("a client generated from /api/openapi.json (openapi-typescript + openapi-fetch)", () => {
  let worker: RunningWorker;
  before(async () => {
    await resetDb();
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await closeAll();
  });

  test("the committed types are what the document generates today (npm run api:types)", async () => {
    assert.equal(readFileSync(API_TYPES_FILE, "utf8"), await generateApiTypes());
  });

  test("calls every read endpoint, typed by the document", async () => {
    const token = await operatorToken();
    const folder = path.join(roots, "typed");
    writeTree(folder, { "src/a.ts": "export const a = 1;\n" });
    const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "typed", config: { path: folder } },
    });
    assert.equal(created.status, 201);
    await waitForJob(created.json.jobId);

    const api = createClient<paths>({
      baseUrl: "http://localhost",
      fetch: routeFetch,
      headers: { authorization: `Bearer ${token}` },
    });
    const sources = await api.GET("/api/sources", { params: { query: { limit: 10 } } });
    assert.equal(sources.response.status, 200);
    const source = sources.data!.sources[0]!;
    assert.equal(source.name, "typed");
    const id = source.id;

    const one = await api.GET("/api/sources/{id}", { params: { path: { id } } });
    assert.equal(one.data!.source.status, "synced");
    const files = await api.GET("/api/sources/{id}/files", { params: { path: { id }, query: { limit: 5 } } });
    assert.deepEqual(
      files.data!.files.map((f) => f.path),
      ["src/a.ts"],
    );
    const content = await api.GET("/api/sources/{id}/files/content", {
      params: { path: { id }, query: { path: "src/a.ts" } },
    });
    assert.equal(content.data!.content, "export const a = 1;\n");
    const jobs = await api.GET("/api/jobs", { params: { query: { sourceId: id } } });
    const jobId = jobs.data!.jobs[0]!.id;
    const job = await api.GET("/api/jobs/{id}", { params: { path: { id: jobId } } });
    assert.equal(job.data!.job.status, "completed");
    const failures = await api.GET("/api/jobs/{id}/failures", { params: { path: { id: jobId } } });
    assert.equal(failures.response.status, 200);
    const events = await api.GET("/api/sources/{id}/webhook-events", { params: { path: { id } } });
    assert.equal(events.response.status, 200);
    const activity = await api.GET("/api/activity");
    assert.equal(activity.data!.workers, 1);
    const credentials = await api.GET("/api/credentials");
    assert.equal(credentials.response.status, 200);
    const health = await api.GET("/api/health");
    assert.equal(health.data!.ok, true);
    const metrics = await api.GET("/api/metrics", { parseAs: "text" });
    assert.match(metrics.data as unknown as string, /^dc_workers 1$/m);
    const doc = await api.GET("/api/openapi.json");
    assert.equal(doc.response.status, 200);
    const missing = await api.GET("/api/sources/{id}", {
      params: { path: { id: "3f1e2c55-2b5e-4c1f-9a55-0d2b6f1d3a10" } },
    });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.error!.status, 404);
  });
});
