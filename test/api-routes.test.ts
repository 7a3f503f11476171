import assert from "node:assert/strict";
import { globSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { NextRequest } from "next/server";
import * as docsRoute from "@/app/api/docs/route";
import * as docsAssetRoute from "@/app/api/docs/[asset]/route";
import { OPERATIONS, openApiDocument } from "@/lib/api/openapi";
import { API_ROUTES } from "@/lib/api/route-table";
import { proxy } from "@/proxy";
import { call } from "./helpers";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

describe("the API's routes", () => {
  test("the route table lists exactly the route files and their methods, and every documented operation", async () => {
    const files: Record<string, string[]> = {};
    for (const file of globSync("app/api/**/route.ts").sort()) {
      const mod = (await import(path.resolve(file))) as Record<string, unknown>;
      files["/" + path.dirname(file).replace(/^app\//, "")] = METHODS.filter((m) => typeof mod[m] === "function");
    }
    assert.deepEqual(
      Object.fromEntries(Object.entries(API_ROUTES).map(([r, m]) => [r, [...m].sort()])),
      Object.fromEntries(Object.entries(files).map(([r, m]) => [r, [...m].sort()])),
    );
    for (const op of OPERATIONS) {
      const route = op.path.replace(/\{(\w+)\}/g, "[$1]");
      assert.ok(API_ROUTES[route]?.includes(op.method.toUpperCase()), `${op.method} ${op.path} is a route`);
    }
  });

  test("every operation has a unique, stable operationId and a one-line summary", () => {
    const doc = openApiDocument();
    const ids: string[] = [];
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(
        methods as Record<string, { operationId?: string; summary?: string }>,
      )) {
        assert.match(op.operationId ?? "", /^[a-z][A-Za-z]+$/, `${method} ${p} has an operationId`);
        assert.ok(op.summary && !op.summary.includes("\n"), `${method} ${p} has a one-line summary`);
        ids.push(op.operationId!);
      }
    }
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
    for (const id of ["listSources", "getSource", "createSource", "syncSource", "listFiles", "getFileContent"])
      assert.ok(ids.includes(id), id);
    for (const id of ["listJobs", "getJob", "cancelJob", "retryFailedFiles", "listJobFailures", "listWebhookEvents"])
      assert.ok(ids.includes(id), id);
  });

  test("an unknown route under /api/ is a problem+json 404, an unknown method a 405 with Allow", async () => {
    const ask = (method: string, url: string) => proxy(new NextRequest(new URL(url, "http://localhost"), { method }));
    const unknown = ask("GET", "/api/nope/nothing");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("content-type"), "application/problem+json");
    const body = await unknown.json();
    assert.equal(body.status, 404);
    assert.match(body.detail, /no API route at \/api\/nope\/nothing.*\/api\/docs/);

    const wrong = ask("PUT", "/api/sources/3f1e2c55-2b5e-4c1f-9a55-0d2b6f1d3a10");
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "GET, PATCH, DELETE, HEAD, OPTIONS");
    assert.equal(wrong.headers.get("content-type"), "application/problem+json");
    assert.match((await wrong.json()).detail, /does not answer PUT/);

    for (const [method, url] of [
      ["GET", "/api/sources"],
      ["POST", "/api/sources/x/sync"],
      ["GET", "/api/auth/session"],
      ["POST", "/api/auth/callback/credentials"],
      ["HEAD", "/api/health"],
      ["GET", "/api/openapi.json"],
    ]) {
      assert.equal(ask(method!, url!).headers.get("x-middleware-next"), "1", `${method} ${url} reaches its route`);
    }
  });

  test("GET /api/docs renders the document with the bundled Swagger UI, no CDN", async () => {
    const page = await docsRoute.GET();
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, "every asset comes from this app");
    assert.match(html, /\/api\/docs\/swagger-ui-bundle\.js/);
    const bundle = await call(docsAssetRoute.GET as never, "GET", "/api/docs/swagger-ui-bundle.js", {
      params: { asset: "swagger-ui-bundle.js" },
    });
    assert.equal(bundle.status, 200);
    assert.match(bundle.type ?? "", /javascript/);
    assert.ok(bundle.text.length > 100_000);
    const init = await call(docsAssetRoute.GET as never, "GET", "/api/docs/init.js", { params: { asset: "init.js" } });
    assert.match(init.text, /\/api\/openapi\.json/);
    const none = await call(docsAssetRoute.GET as never, "GET", "/api/docs/x.js", { params: { asset: "../x.js" } });
    assert.equal(none.status, 404);
  });
});
