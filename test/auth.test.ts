import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { globSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import { z } from "zod";
import * as sourcesRoute from "@/app/api/sources/route";
import * as credentialsRoute from "@/app/api/credentials/route";
import * as openapiRoute from "@/app/api/openapi.json/route";
import { revokeApiToken } from "@/lib/auth/api-tokens";
import { createFirstAdmin, hasAnyUser } from "@/lib/auth/first-admin";
import { hashPassword, verifyPassword } from "@/lib/auth/passwords";
import { decode } from "next-auth/jwt";
import { revokeSession } from "@/lib/auth/revoked-sessions";
import { authSecrets } from "@/lib/auth/secret";
import { encodeSessionCookie, sessionCookieName, sessionMaxAge } from "@/lib/auth/session";
import { signInWithPassword } from "@/lib/auth/sign-in";
import { ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS, MAX_DELAY_SECONDS } from "@/lib/auth/throttle";
import { createSourceBody } from "@/lib/sources/schemas";
import { users } from "@/lib/db/schema";
import { closeDb } from "@/lib/db/client";
import { call, closeAll, db, operatorToken, resetDb, signedInUser, tempDir, writeTree } from "./helpers";

const run = promisify(execFile);
const roots = tempDir("dc-auth-roots-");
writeTree(path.join(roots, "repo"), { "a.ts": "export {}\n" });
process.env.LOCAL_SOURCE_ROOTS = roots;
// Members connect local folders in these tests; who may is tested in api.test.ts.
process.env.LOCAL_SOURCES_FOR_MEMBERS = "true";

type Handler = (request: Request, context: { params: Promise<never> }) => Promise<Response>;
type Route = { file: string; url: string; methods: [string, Handler][] };

/** Routes open without a session or token, by file. */
const OPEN_ROUTES = [
  /app\/api\/health\//,
  /app\/api\/oauth\/\[provider\]\/callback\//,
  /app\/api\/auth\/\[\.\.\.nextauth\]\//,
  /app\/api\/webhooks\//,
  /app\/api\/openapi\.json\//,
  /app\/api\/docs\//,
];

async function loadRoutes(): Promise<Route[]> {
  const routes: Route[] = [];
  for (const file of globSync("app/api/**/route.ts").sort()) {
    const mod = (await import(path.resolve(file))) as Record<string, unknown>;
    const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
      .filter((m) => typeof mod[m] === "function")
      .map((m) => [m, mod[m] as Handler] as [string, Handler]);
    const url = "/" + path.dirname(file).replace(/^app\//, "");
    routes.push({ file, url, methods });
  }
  return routes;
}

describe("sign-in and the API's authorization", () => {
  let routes: Route[];
  before(async () => {
    routes = await loadRoutes();
  });
  beforeEach(() => resetDb());
  after(() => closeAll());

  test("authorization matrix over every /api route: anonymous, valid token, revoked token, session, A's token on B's resources", async () => {
    const a = await signedInUser("a@example.com");
    const b = await signedInUser("b@example.com");
    const admin = await signedInUser("admin@example.com", "admin");
    const revoked = await signedInUser("gone@example.com");
    await revokeApiToken("gone@example.com token");

    const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token: b.token,
      body: { type: "local", name: "b-repo", config: { path: path.join(roots, "repo") } },
    });
    assert.equal(created.status, 201);
    const cred = await call(credentialsRoute.POST, "POST", "/api/credentials", {
      token: b.token,
      body: { provider: "github", token: "ghp_matrix000000000000000000000000000000" },
    });
    assert.equal(cred.status, 201);
    const params = { id: "", provider: "github", nextauth: "session" };
    const paramsFor = (url: string) => ({
      ...params,
      id: url.includes("/jobs/")
        ? created.json.jobId
        : url.includes("/credentials/")
          ? cred.json.credential.id
          : created.json.source.id,
    });
    const bodyFor = (url: string, method: string) =>
      method === "POST" && url.endsWith("/sync")
        ? { type: "incremental" }
        : method === "PATCH"
          ? { name: "renamed" }
          : method === "POST"
            ? {}
            : undefined;

    assert.ok(routes.length >= 12, "found the route files");
    for (const route of routes) {
      const open = OPEN_ROUTES.some((re) => re.test(route.file));
      const owned = /\[id\]/.test(route.url);
      for (const [method, handler] of route.methods) {
        const label = `${method} ${route.url}`;
        const url = route.url.endsWith("/content") ? `${route.url}?path=a.ts` : route.url;
        const p = paramsFor(route.url);
        const body = bodyFor(route.url, method);
        if (open) continue;
        const anon = await call(handler, method, url, { params: p, body });
        assert.equal(anon.status, 401, `${label} anonymous`);
        assert.equal(anon.type, "application/problem+json", `${label} anonymous answers a problem`);
        assert.equal(
          (await call(handler, method, url, { params: p, body, token: revoked.token })).status,
          401,
          `${label} revoked token`,
        );
        assert.equal(
          (await call(handler, method, url, { params: p, body, token: "dc_not-a-token" })).status,
          401,
          `${label} unknown token`,
        );
        assert.equal(
          (await call(handler, method, url, { params: p, body, headers: { authorization: "Basic eDp5" } })).status,
          401,
          `${label} other scheme`,
        );
        if (owned) {
          const foreign = await call(handler, method, url, { params: p, body, token: a.token });
          assert.equal(foreign.status, 404, `${label} with A's token on B's resource: ${JSON.stringify(foreign.json)}`);
          const foreignSession = await call(handler, method, url, { params: p, body, cookie: a.cookie });
          assert.equal(foreignSession.status, 404, `${label} with A's session on B's resource`);
          if (method === "GET") {
            // The owner and an admin reach it (the file itself is not synced yet: "No file" is fine).
            for (const who of [b, admin]) {
              const res = await call(handler, method, url, { params: p, token: who.token });
              assert.ok(
                res.status === 200 || /no indexed file/.test(res.json?.detail ?? ""),
                `${label} by ${who.email}: ${res.status}`,
              );
            }
          }
        } else if (method === "GET") {
          const viaToken = await call(handler, method, url, { params: p, token: a.token });
          assert.notEqual(viaToken.status, 401, `${label} with a valid token`);
          const viaSession = await call(handler, method, url, { params: p, cookie: a.cookie });
          assert.notEqual(viaSession.status, 401, `${label} with a session`);
        }
      }
    }
    // Lists only show the caller's own; the admin sees all.
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { token: a.token })).json.sources.length, 0);
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { token: b.token })).json.sources.length, 1);
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { token: admin.token })).json.sources.length, 1);
    assert.equal(
      (await call(credentialsRoute.GET, "GET", "/api/credentials", { cookie: a.cookie })).json.credentials.length,
      0,
    );
    assert.equal(
      (await call(credentialsRoute.GET, "GET", "/api/credentials", { cookie: b.cookie })).json.credentials.length,
      1,
    );
  });

  test("a session cookie works until it expires, is tampered with, signed out, or its user is removed; cross-site writes are refused", async () => {
    const user = await signedInUser("s@example.com");
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: user.cookie })).status, 200);

    const expired = await encodeSessionCookie({ id: user.id, email: user.email }, -60);
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: expired })).status, 401);
    const tampered = user.cookie.slice(0, -4) + (user.cookie.endsWith("AAAA") ? "BBBB" : "AAAA");
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: tampered })).status, 401);

    const body = { type: "local", name: "x", config: { path: path.join(roots, "repo") } };
    const crossSite = await call(sourcesRoute.POST, "POST", "/api/sources", {
      cookie: user.cookie,
      body,
      headers: { "sec-fetch-site": "cross-site", origin: "https://evil.example" },
    });
    assert.equal(crossSite.status, 403);
    const sameSite = await call(sourcesRoute.POST, "POST", "/api/sources", {
      cookie: user.cookie,
      body,
      headers: { "sec-fetch-site": "same-origin", origin: "http://localhost" },
    });
    assert.equal(sameSite.status, 201);

    // Sign-out revokes the session on the server: the same cookie, replayed, is refused.
    const claims = await decode({
      token: user.cookie.slice(user.cookie.indexOf("=") + 1),
      secret: authSecrets(),
      salt: sessionCookieName(),
    });
    assert.ok(typeof claims?.sid === "string", "sessions carry a session id");
    const second = await encodeSessionCookie({ id: user.id, email: user.email });
    await revokeSession(claims!, sessionMaxAge());
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: user.cookie })).status, 401);
    assert.equal(
      (await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: second })).status,
      200,
      "only that session is signed out",
    );

    await db().delete(users).where(eq(users.id, user.id));
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: second })).status, 401);
  });

  test("passwords are argon2id hashes; a wrong password or unknown email fails alike", async () => {
    const hash = await hashPassword("correct horse battery staple");
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword("correct horse battery staple", hash), true);
    assert.equal(await verifyPassword("wrong", hash), false);
    assert.equal(await verifyPassword("x", "scrypt$legacy"), false);

    await signedInUser("p@example.com");
    const ok = await signInWithPassword({
      email: "P@Example.com",
      password: "a long test password",
      address: "10.0.0.1",
    });
    assert.equal(ok.ok && ok.user.email, "p@example.com");
    assert.deepEqual(await signInWithPassword({ email: "p@example.com", password: "nope", address: "10.0.0.1" }), {
      ok: false,
      reason: "invalid",
    });
    assert.deepEqual(await signInWithPassword({ email: "nobody@example.com", password: "nope", address: "10.0.0.1" }), {
      ok: false,
      reason: "invalid",
    });
  });

  test("failed sign-ins are limited per account and per address, in PostgreSQL (another process sees the same count)", async () => {
    await signedInUser("victim@example.com");
    for (let i = 0; i < ACCOUNT_ATTEMPTS; i++) {
      const r = await signInWithPassword({
        email: "victim@example.com",
        password: `guess ${i}`,
        address: `192.0.2.${i}`,
      });
      assert.equal(r.ok === false && r.reason, "invalid");
    }
    // A new connection pool stands in for another web process: the singleton's, closed and opened again.
    await closeDb();
    const limited = await signInWithPassword({
      email: "victim@example.com",
      password: "a long test password",
      address: "198.51.100.1",
    });
    assert.equal(limited.ok, false);
    assert.equal(
      !limited.ok && limited.reason,
      "rate_limited",
      "even the right password waits for the delay once the free attempts are spent",
    );
    assert.ok(
      !limited.ok &&
        limited.reason === "rate_limited" &&
        limited.retryAfterSeconds > 0 &&
        limited.retryAfterSeconds <= MAX_DELAY_SECONDS,
    );

    // Per address: many accounts from one address.
    await signedInUser("other@example.com");
    for (let i = 0; i < ADDRESS_ATTEMPTS; i++) {
      await signInWithPassword({ email: `spray${i}@example.com`, password: "x", address: "203.0.113.9" });
    }
    const sprayed = await signInWithPassword({
      email: "other@example.com",
      password: "a long test password",
      address: "203.0.113.9",
    });
    assert.equal(!sprayed.ok && sprayed.reason, "rate_limited");
    const elsewhere = await signInWithPassword({
      email: "other@example.com",
      password: "a long test password",
      address: "203.0.113.10",
    });
    assert.equal(elsewhere.ok, true, "another address is not affected");
  });

  test("the first admin is created once, however many setups race", async () => {
    assert.equal(await hasAnyUser(db()), false);
    await assert.rejects(createFirstAdmin({ email: "root@example.com", password: "short" }), /at least 12 characters/);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        createFirstAdmin({ email: `root${i}@example.com`, password: "a long enough password" }),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
    const rows = await db().select().from(users);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.role, "admin");
  });

  test("npm run cli -- tokens create prints the token as the last line, and it works", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "scripts/cli.ts", "tokens", "create", "cli-test"],
      { env: process.env },
    );
    const token = stdout.trim().split("\n").at(-1)!;
    assert.match(token, /^dc_[A-Za-z0-9_-]{43}$/);
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { token })).status, 200);
    await run(process.execPath, ["--import", "tsx", "scripts/cli.ts", "tokens", "revoke", "cli-test"], {
      env: process.env,
    });
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { token })).status, 401);
  });

  test("GET /api/openapi.json documents every route file, with request bodies from the validating zod schemas", async () => {
    const token = await operatorToken();
    const res = await call(openapiRoute.GET, "GET", "/api/openapi.json", { token });
    assert.equal(res.status, 200);
    const doc = res.json;
    assert.equal(doc.openapi, "3.1.0");
    for (const route of routes) {
      // next-auth's own routes, and the reference page that renders this document.
      if (/\[\.\.\.nextauth\]|api\/docs\//.test(route.file)) continue;
      const docPath = route.url.replace(/\[(\w+)\]/g, "{$1}");
      for (const [method] of route.methods) {
        assert.ok(doc.paths[docPath]?.[method.toLowerCase()], `${method} ${docPath} is documented`);
      }
    }
    const expected = z.toJSONSchema(createSourceBody, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >;
    delete expected.$schema;
    assert.deepEqual(doc.paths["/api/sources"].post.requestBody.content["application/json"].schema, expected);
    assert.deepEqual(doc.paths["/api/health"].get.security, []);
    assert.equal((await call(openapiRoute.GET, "GET", "/api/openapi.json", {})).status, 200, "the reference is open");
  });
});
