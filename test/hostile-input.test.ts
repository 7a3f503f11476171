import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { NextRequest } from "next/server";
import * as authRoute from "@/app/api/auth/[...nextauth]/route";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as filesRoute from "@/app/api/sources/[id]/files/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as browseRoute from "@/app/api/providers/[type]/browse/route";
import * as bitbucketWebhook from "@/app/api/webhooks/bitbucket/route";
import * as dropboxWebhook from "@/app/api/webhooks/dropbox/route";
import * as gdriveWebhook from "@/app/api/webhooks/gdrive/route";
import * as githubWebhook from "@/app/api/webhooks/github/route";
import * as gitlabWebhook from "@/app/api/webhooks/gitlab/route";
import { sealWebhookSecret } from "@/lib/oauth/provider-token";
import { driveChannels, sources } from "@/lib/db/schema";
import { encryptSecret } from "@/lib/oauth/encryption";
import { safeReturnPath } from "@/lib/oauth/flow";
import { webhookTokenHash } from "@/lib/webhooks/webhook-candidates";
import { startHttpFake } from "./fakes/http-fake";
import { call, closeAll, db, operatorToken, resetDb, signedInUser } from "./helpers";

// Random bodies, headers and signatures against every webhook route and
// the sources API never verify, never get a 500 and never queue a job. The followed sources
// exist, so that every request reaches the signature check with a real secret behind it.
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const SECRET = "the-real-webhook-secret";
process.env.DROPBOX_APP_SECRET = "dropbox-app-secret";
const REPOS = { github: "octo/hostile", gitlab: "group/hostile", bitbucket: "ws/hostile" } as const;
/** The hooks the sources own: what a sender learns from a provider's headers, never a secret. */
const HOOKS = { github: "9001", gitlab: null, bitbucket: "{0000-9001}" } as const;
let token: string;
let sourceIds: string[] = [];
const channelId = randomUUID();

async function counts() {
  const r = await db().execute<{ events: number; jobs: number; queued: number }>(sql`select
    (select count(*)::int from webhook_events) as events,
    (select count(*)::int from sync_jobs) as jobs,
    (select count(*)::int from pgboss.job where name in ('sync-source', 'process-file-batch', 'send-to-pipeline')) as queued`);
  return r.rows[0]!;
}

const headerNames = [
  "content-type",
  "x-github-event",
  "x-github-delivery",
  "x-github-hook-id",
  "x-hook-uuid",
  "x-hub-signature-256",
  "x-hub-signature",
  "x-gitlab-token",
  "x-gitlab-event",
  "x-gitlab-event-uuid",
  "idempotency-key",
  "x-event-key",
  "x-request-uuid",
  "x-dropbox-signature",
  "x-goog-channel-id",
  "x-goog-channel-token",
  "x-goog-resource-id",
  "x-goog-resource-state",
  "x-goog-message-number",
  "content-length",
  "authorization",
];
// Header values must be ByteStrings without CR/LF; anything else a client cannot even send.
const headerValue = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "push",
    "Push Hook",
    "repo:push",
    "ping",
    channelId,
    "sha256=",
    "-1",
    "99999999999",
  ),
  fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
  fc.stringMatching(/^sha1=[0-9a-f]{40}$/),
);
const headers = fc.dictionary(fc.constantFrom(...headerNames), headerValue, { maxKeys: 10 });
const pushLike = (repo: string) =>
  fc
    .record(
      {
        ref: fc.oneof(fc.constant("refs/heads/main"), fc.string()),
        repository: fc.record({ full_name: fc.oneof(fc.constant(repo), fc.string()) }),
        project: fc.record({
          path_with_namespace: fc.oneof(fc.constant(repo), fc.string()),
          web_url: fc.oneof(fc.constant("https://gitlab.com/x"), fc.string()),
        }),
        push: fc.record({
          changes: fc.array(fc.record({ new: fc.record({ type: fc.constant("branch"), name: fc.constant("main") }) }), {
            maxLength: 3,
          }),
        }),
        list_folder: fc.record({
          accounts: fc.array(fc.oneof(fc.constant("dbid:hostile"), fc.string()), { maxLength: 3 }),
        }),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
const body = (repo: string) =>
  fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.json({ maxDepth: 3 }),
    pushLike(repo),
    fc.constant(""),
    fc.constant("null"),
    fc.constant("[]"),
  );
/** A signature header a forger might try: random, of another body, or keyed with another secret. */
const forged = fc.oneof(
  fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
  fc.string({ maxLength: 70 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
  fc
    .string({ minLength: 1, maxLength: 20 })
    .map((k) => `sha256=${createHmac("sha256", `${SECRET}${k}`).update("{}").digest("hex")}`),
);

type Handler = (request: Request) => Promise<Response>;

async function send(handler: Handler, provider: string, method: string, raw: string, hdrs: Record<string, string>) {
  const request = new Request(`http://localhost/api/webhooks/${provider}`, {
    method,
    headers: new Headers(hdrs),
    body: method === "GET" ? undefined : raw,
  });
  const response = await handler(request);
  return { status: response.status, text: await response.text() };
}

// Runs before "hostile input" below, whose after() closes the pool and the queue.
describe("hostile input: OAuth returnTo and session cookies", () => {
  test("OAuth returnTo: whatever is asked for, the answer is a path on this app's origin", () => {
    const origin = "http://localhost:3000";
    const piece = fc.constantFrom(
      "/",
      "//",
      "\\",
      ".",
      "..",
      "%2e",
      "%2E",
      "%2f",
      "%5c",
      "%00",
      "%",
      "evil.example",
      "@",
      ":",
      "?",
      "#",
      " ",
      "\t",
      "http:",
      "javascript:",
      "settings",
    );
    const candidate = fc.oneof(
      fc.array(piece, { maxLength: 8 }).map((parts) => parts.join("")),
      fc.array(piece, { maxLength: 8 }).map((parts) => "/" + parts.join("")),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(candidate, (value) => {
        const path = safeReturnPath(value, origin);
        assert.ok(path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\"), `${value} -> ${path}`);
        assert.equal(new URL(path, origin).origin, origin, `${value} -> ${path}`);
      }),
      { numRuns: RUNS * 20 },
    );
  });

  test("session cookies: malformed, truncated or forged values are a 401 problem, never a 500", async () => {
    await resetDb();
    const user = await signedInUser("cookie@example.com");
    const valid = user.cookie.slice(user.cookie.indexOf("=") + 1);
    const name = user.cookie.slice(0, user.cookie.indexOf("="));
    const value = fc.oneof(
      fc.constantFrom("%", "%zz", "%E0%A4%A", "", "=", '"', valid.slice(0, -1), valid + "%", valid.replace(/.$/, "%")),
      fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x21-\x7e]|;/g, "")),
      fc.nat({ max: valid.length }).map((cut) => valid.slice(0, cut)),
    );
    await fc.assert(
      fc.asyncProperty(value, fc.boolean(), async (cookieValue, twice) => {
        const cookie = `${name}=${cookieValue}${twice ? `; ${name}=${valid}` : ""}`;
        const res = await call(sourcesRoute.GET, "GET", "/api/sources", { cookie });
        if (cookieValue === valid) return;
        assert.ok(res.status === 401 || (twice && res.status === 200), `${cookie}: ${res.status} ${res.text}`);
        if (res.status === 401) {
          assert.match(res.type ?? "", /application\/problem\+json/);
          assert.doesNotMatch(res.text, /\bat \w+ \(|URIError|stack/);
        }
        // next-auth's own session endpoint: no session for it, and never an error page.
        const session = await authRoute.GET(
          new NextRequest("http://localhost/api/auth/session", { headers: { cookie: `${name}=${cookieValue}` } }),
        );
        assert.equal(session.status, 200);
        assert.equal(await session.json(), null, cookie);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("hostile input", () => {
  before(async () => {
    await resetDb();
    token = await operatorToken();
    sourceIds = [];
    for (const [type, repo] of Object.entries(REPOS)) {
      const id = randomUUID();
      await db()
        .insert(sources)
        .values({
          id,
          type,
          name: repo,
          config: { repo, branch: "main", ...(type === "gitlab" ? { host: "https://gitlab.com" } : {}) },
          webhookId: HOOKS[type as keyof typeof HOOKS],
          webhookSecret: sealWebhookSecret(id, SECRET),
          webhookTokenHash: webhookTokenHash(SECRET),
        });
      sourceIds.push(id);
    }
    const dropboxId = randomUUID();
    await db()
      .insert(sources)
      .values({ id: dropboxId, type: "dropbox", name: "dbx", config: { path: "/" }, accountId: "dbid:hostile" });
    const driveId = randomUUID();
    await db().insert(sources).values({ id: driveId, type: "gdrive", name: "drive", config: {} });
    await db()
      .insert(driveChannels)
      .values({
        sourceId: driveId,
        channelId,
        resourceId: "res-1",
        sealedToken: encryptSecret(randomBytes(16).toString("hex"), `drive-channel:${channelId}`),
      });
    sourceIds.push(dropboxId, driveId);
  });
  after(() => closeAll());

  for (const [provider, handler] of [
    ["github", githubWebhook.POST],
    ["gitlab", gitlabWebhook.POST],
    ["bitbucket", bitbucketWebhook.POST],
  ] as const) {
    test(`POST /api/webhooks/${provider}: random bodies, headers and signatures never verify, never 500, never queue`, async () => {
      const signatureHeader =
        provider === "github"
          ? "x-hub-signature-256"
          : provider === "gitlab"
            ? "x-gitlab-token"
            : "x-hub-signature-256";
      await fc.assert(
        fc.asyncProperty(
          body(REPOS[provider]),
          headers,
          forged,
          fc.boolean(),
          async (raw, hdrs, signature, withSignature) => {
            const all = { ...hdrs, ...(withSignature ? { [signatureHeader]: signature } : {}) };
            delete all["content-length"];
            const res = await send(handler as Handler, provider, "POST", raw, all);
            assert.ok(res.status < 500, `${res.status} ${res.text}`);
            assert.ok([400, 401, 413, 415, 422].includes(res.status), `${res.status} ${res.text}`);
          },
        ),
        { numRuns: RUNS },
      );
      // Well-formed pushes for the followed repository with forged signatures: these reach the
      // signature check against the real secret, and always fail it.
      const event =
        provider === "github"
          ? ["x-github-event", "push"]
          : provider === "gitlab"
            ? ["x-gitlab-event", "Push Hook"]
            : ["x-event-key", "repo:push"];
      await fc.assert(
        fc.asyncProperty(pushLike(REPOS[provider]), forged, fc.uuid(), async (raw, signature, delivery) => {
          const payload = {
            ...JSON.parse(raw),
            ref: "refs/heads/main",
            repository: { full_name: REPOS[provider] },
            project: { path_with_namespace: REPOS[provider], web_url: `https://gitlab.com/${REPOS[provider]}` },
          };
          const res = await send(handler as Handler, provider, "POST", JSON.stringify(payload), {
            "content-type": "application/json",
            [event[0]!]: event[1]!,
            "x-github-delivery": delivery,
            "x-request-uuid": delivery,
            "x-gitlab-event-uuid": delivery,
            "x-github-hook-id": HOOKS.github,
            "x-hook-uuid": HOOKS.bitbucket.replace(/[{}]/g, ""),
            [signatureHeader]: signature,
          });
          assert.equal(res.status, 401, res.text);
        }),
        { numRuns: RUNS },
      );
      assert.deepEqual(await counts(), { events: 0, jobs: 0, queued: 0 });
    });
  }

  test("POST /api/webhooks/dropbox and GET ?challenge: random bodies and signatures never verify, never 500, never queue", async () => {
    await fc.assert(
      fc.asyncProperty(body("x"), headers, forged, async (raw, hdrs, signature) => {
        delete hdrs["content-length"];
        const res = await send(dropboxWebhook.POST, "dropbox", "POST", raw, {
          ...hdrs,
          "x-dropbox-signature": signature.replace(/^sha256=/, ""),
        });
        assert.equal(res.status, 401, res.text);
        const challenge = await dropboxWebhook.GET(
          new Request(`http://localhost/api/webhooks/dropbox?challenge=${encodeURIComponent(raw.slice(0, 100))}`),
        );
        assert.ok(challenge.status === 200 || challenge.status === 400, String(challenge.status));
        if (challenge.status === 200) assert.equal(challenge.headers.get("x-content-type-options"), "nosniff");
      }),
      { numRuns: RUNS },
    );
    assert.deepEqual(await counts(), { events: 0, jobs: 0, queued: 0 });
  });

  test("POST /api/webhooks/gdrive: random channel headers and tokens (also for a real channel id) never verify, never 500, never queue", async () => {
    await fc.assert(
      fc.asyncProperty(
        body("x"),
        headers,
        fc.oneof(fc.constant(channelId), fc.uuid(), fc.string({ maxLength: 80 })),
        async (raw, hdrs, id) => {
          delete hdrs["content-length"];
          const res = await send(gdriveWebhook.POST, "gdrive", "POST", raw, {
            ...hdrs,
            "x-goog-channel-id": id.replace(/[^\x20-\x7e]/g, ""),
          });
          assert.equal(res.status, 401, res.text);
        },
      ),
      { numRuns: RUNS },
    );
    assert.deepEqual(await counts(), { events: 0, jobs: 0, queued: 0 });
  });

  test("the sources API: random tokens are 401, random bodies, ids and queries are 4xx, never 500, never a job", async () => {
    const id = sourceIds[0]!;
    const anyId = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constant(id));
    const jsonBody = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 200 }),
      fc
        .record(
          {
            type: fc.oneof(
              fc.constantFrom("local", "github", "gitlab", "bitbucket", "gdrive", "dropbox", "ftp"),
              fc.string(),
            ),
            name: fc.string(),
            config: fc.dictionary(fc.string(), fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 60 }),
        jsonBody,
        anyId,
        fc.string({ maxLength: 60 }),
        async (badToken, raw, someId, query) => {
          const bearer = `dc_${badToken.replace(/[^\x21-\x7e]/g, "")}`;
          const unauth = await call(sourcesRoute.GET, "GET", "/api/sources", {
            headers: { authorization: `Bearer ${bearer}` },
            token: null,
          });
          assert.equal(unauth.status, 401);
          const created = await call(sourcesRoute.POST, "POST", "/api/sources", { token, rawBody: raw });
          assert.ok(
            created.status >= 400 && created.status < 500,
            `POST /api/sources ${created.status} ${created.text}`,
          );
          assert.match(created.type ?? "", /problem\+json/);
          const params = { id: someId };
          for (const [handler, method, url, options] of [
            [sourceRoute.GET, "GET", `/api/sources/x`, {}],
            [filesRoute.GET, "GET", `/api/sources/x/files?${encodeURI(query)}`, {}],
            [syncRoute.POST, "POST", `/api/sources/x/sync`, { rawBody: raw }],
          ] as const) {
            const res = await call(handler as never, method, url, { token, params, ...options });
            assert.ok(res.status < 500, `${method} ${url} (${someId}) ${res.status} ${res.text}`);
            if (method === "POST" && someId !== id) assert.ok(res.status >= 400);
          }
          if (someId !== id) {
            const patched = await call(sourceRoute.PATCH as never, "PATCH", "/api/sources/x", {
              token,
              params,
              rawBody: raw,
            });
            assert.ok(patched.status >= 400 && patched.status < 500, `PATCH ${patched.status}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    // A sync request for the real source with a valid body may have queued one: nothing else did.
    const after = await counts();
    assert.equal(after.events, 0);
    const jobs = await db().execute<{ n: number }>(
      sql`select count(*)::int as n from sync_jobs where source_id <> ${id}`,
    );
    assert.equal(jobs.rows[0]!.n, 0);
    const sourceCount = await db().execute<{ n: number }>(sql`select count(*)::int as n from sources`);
    assert.equal(sourceCount.rows[0]!.n, sourceIds.length, "no source was created");
  });

  test("a correctly signed push for a source whose connected account is gone still verifies (the webhook never resolves the provider token)", async () => {
    const id = randomUUID();
    await db()
      .insert(sources)
      .values({
        id,
        type: "github",
        name: "octo/broken",
        config: { repo: "octo/broken", branch: "main", credentialId: randomUUID() },
        webhookId: "9002",
        webhookSecret: sealWebhookSecret(id, SECRET),
      });
    const raw = JSON.stringify({ ref: "refs/heads/main", repository: { full_name: "octo/broken" } });
    const res = await send(githubWebhook.POST as Handler, "github", "POST", raw, {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "x-github-hook-id": "9002",
      "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(raw).digest("hex")}`,
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(JSON.parse(res.text).queued, 1);
  });

  test("the sources API and browse: hostile globs, hosts and sizes are 4xx in bounded time, never 500, and reach no internal address", async () => {
    // A server on loopback that no hostile host may reach (it is not in ALLOWED_PRIVATE_HOSTS).
    let reached = 0;
    const inside = await startHttpFake(async (_req, res) => {
      reached++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const port = new URL(inside.base).port;
    const hosts = fc.oneof(
      fc.constantFrom(
        inside.base,
        `http://localhost:${port}`,
        `http://[::1]:${port}`,
        `http://[::ffff:127.0.0.1]:${port}`,
        `http://[::127.0.0.1]:${port}`,
        `http://[64:ff9b::7f00:1]:${port}`,
        `http://[2002:7f00:1::]:${port}`,
        `http://2130706433:${port}`,
        `http://0x7f.1:${port}`,
        `http://0177.0.0.1:${port}`,
        `http://user@127.0.0.1:${port}`,
        "http://169.254.169.254",
        "http://168.63.129.16",
        "http://10.0.0.1",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
      ),
      fc.string({ maxLength: 80 }),
    );
    const glob = fc.oneof(
      fc.constantFrom(
        "**/*a*a*a*a*a*a*a*a*a*a*a*a*c",
        "!(x)",
        "+(a|b)*",
        "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}",
        "[[[[",
        "***/***",
      ),
      fc.string({ maxLength: 300 }),
    );
    const size = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(0, -1, 2 ** 53, 1e308, 50 * 1024 * 1024 + 1, "1000"),
    );
    await fc.assert(
      fc.asyncProperty(
        hosts,
        fc.array(glob, { maxLength: 120 }),
        fc.array(glob, { maxLength: 5 }),
        size,
        async (host, include, exclude, maxFileSize) => {
          const started = Date.now();
          const cpuBefore = process.cpuUsage();
          const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
            token,
            body: {
              type: "gitlab",
              name: "hostile",
              config: { repo: "group/x", host, token: "glpat-hostileInputTest01", include, exclude, maxFileSize },
            },
          });
          assert.ok(created.status >= 400 && created.status < 500, `POST ${created.status} ${created.text}`);
          assert.match(created.type ?? "", /problem\+json/);
          const local = await call(sourcesRoute.POST, "POST", "/api/sources", {
            token,
            body: {
              type: "local",
              name: "hostile",
              config: { path: "/nowhere/allowed", include, exclude, maxFileSize },
            },
          });
          assert.ok(local.status >= 400 && local.status < 500, `POST local ${local.status} ${local.text}`);
          const browsed = await call(browseRoute.POST as never, "POST", "/api/providers/gitlab/browse", {
            token,
            params: { type: "gitlab" },
            body: { what: "repositories", host, token: "glpat-hostileInputTest01", q: include[0] ?? "" },
          });
          assert.ok(browsed.status >= 400 && browsed.status !== 500, `browse ${browsed.status} ${browsed.text}`);
          // A glob that backtracks shows as CPU time (not inflated by other processes on the
          // machine); a request left waiting on a host shows as wall time.
          const cpu = process.cpuUsage(cpuBefore);
          assert.ok((cpu.user + cpu.system) / 1000 < 2_000, `answered with bounded work: ${JSON.stringify(cpu)}`);
          assert.ok(Date.now() - started < 20_000, "answered in bounded time");
        },
      ),
      { numRuns: Math.min(RUNS, 60) },
    );
    await inside.close();
    assert.equal(reached, 0, "no hostile host reached the loopback server");
    const hostile = await db().execute<{ n: number }>(
      sql`select count(*)::int as n from sources where name = 'hostile'`,
    );
    assert.equal(hostile.rows[0]!.n, 0, "no source was created");
  });
});
