import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import * as authorizeRoute from "@/app/api/oauth/[provider]/authorize/route";
import * as callbackRoute from "@/app/api/oauth/[provider]/callback/route";
import * as credentialsRoute from "@/app/api/credentials/route";
import * as credentialRoute from "@/app/api/credentials/[id]/route";
import * as sourcesRoute from "@/app/api/sources/route";
import { listApiTokens } from "@/lib/auth/api-tokens";
import { ConnectorAuthError } from "@/lib/connectors/errors";
import { credentials, oauthStates, sources } from "@/lib/db/schema";
import { sealCredentialSecret } from "@/lib/oauth/credential-secret";
import { listCredentials } from "@/lib/oauth/credentials";
import { getAccessToken, getProviderToken } from "@/lib/oauth/get-access-token";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { startOAuthFake, type FakeProvider } from "./fakes/oauth-server";
import { call, closeAll, db, resetDb, signedInUser, waitFor } from "./helpers";

const run = promisify(execFile);
const PROVIDERS: FakeProvider[] = ["github", "gitlab", "bitbucket", "google", "dropbox"];
type User = Awaited<ReturnType<typeof signedInUser>>;

let fake: Awaited<ReturnType<typeof startOAuthFake>>;
/** Every body our routes answered in this file, searched for tokens at the end. */
const answered: string[] = [];
const logged: string[] = [];

async function callRoute(...args: Parameters<typeof call>) {
  const res = await call(...args);
  answered.push(res.text, res.headers.get("location") ?? "");
  return res;
}

/** The browser's steps: our authorize route, the provider's consent, back to our callback. */
async function startFlow(provider: FakeProvider, user: User, returnTo?: string) {
  const query = returnTo === undefined ? "" : `?returnTo=${encodeURIComponent(returnTo)}`;
  const res = await callRoute(authorizeRoute.GET, "GET", `/api/oauth/${provider}/authorize${query}`, {
    cookie: user.cookie,
    params: { provider },
  });
  assert.equal(res.status, 302, res.text);
  const binding = res.headers.get("set-cookie")!.split(";")[0]!;
  const location = new URL(res.headers.get("location")!);
  const atProvider = await fetch(location, { redirect: "manual" });
  assert.equal(atProvider.status, 302);
  const callback = new URL(atProvider.headers.get("location")!);
  return { authorizeUrl: location, callback, binding, cookie: `${user.cookie}; ${binding}` };
}

function finish(provider: string, callbackUrl: URL | string, cookie: string) {
  return callRoute(callbackRoute.GET, "GET", callbackUrl.toString(), { cookie, params: { provider } });
}

const credentialCount = async () => (await db().select({ id: credentials.id }).from(credentials)).length;

async function expiredCredential(provider: FakeProvider, user: User, refreshToken: string, expiresInSeconds = -60) {
  const [row] = await db()
    .insert(credentials)
    .values({
      id: crypto.randomUUID(),
      userId: user.id,
      provider,
      kind: "oauth",
      accountId: "1",
      accountName: "someone",
      secret: "pending",
      keyId: "pending",
      refreshable: true,
      expiresAt: new Date(Date.now() + expiresInSeconds * 1000),
    })
    .returning();
  await db()
    .update(credentials)
    .set(sealCredentialSecret(row!.id, { accessToken: `${provider}-at-stale`, refreshToken }))
    .where(eq(credentials.id, row!.id));
  return row!.id;
}

/**
 * Every row of the database as text: pg_dump against a server; against the embedded PGlite
 * (whose major version the system pg_dump may not match) every table of every schema, by SQL.
 */
async function databaseDump(): Promise<string> {
  if (process.env.TEST_DATABASE_KIND !== "embedded") {
    const { stdout } = await run("pg_dump", ["--data-only", "--no-owner", process.env.DATABASE_URL!], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }
  const tables = await db().execute<{ name: string }>(
    sql`select format('%I.%I', table_schema, table_name) as name from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
  );
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    const rows = await db().execute<{ row: string }>(sql.raw(`select t::text as row from ${name} t`));
    parts.push(`-- ${name}`, ...rows.rows.map((r) => r.row));
  }
  return parts.join("\n");
}

describe("OAuth connections, refresh and secrecy", () => {
  const saved = { ...process.env };
  const originals = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  before(async () => {
    fake = await startOAuthFake();
    Object.assign(process.env, fake.env);
    for (const level of ["log", "warn", "error", "info"] as const) {
      console[level] = (...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
        originals[level](...args);
      };
    }
  });
  beforeEach(async () => {
    await resetDb();
    Object.assign(fake.settings, {
      deny: false,
      refreshDelayMs: 0,
      expiresIn: 3600,
      githubExpiring: true,
      failRefreshWith: null,
    });
  });
  after(async () => {
    Object.assign(console, originals);
    process.env = saved;
    await fake.close();
    await closeAll();
  });

  for (const provider of PROVIDERS) {
    test(`${provider}: the whole connect flow stores an encrypted credential and returns to the dashboard`, async () => {
      const user = await signedInUser(`${provider}@example.com`);
      const flow = await startFlow(provider, user);
      assert.equal(flow.authorizeUrl.searchParams.get("code_challenge_method"), "S256");
      assert.match(flow.authorizeUrl.searchParams.get("code_challenge")!, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(
        flow.authorizeUrl.searchParams.get("redirect_uri"),
        `http://localhost/api/oauth/${provider}/callback`,
      );
      assert.match(flow.binding, /^dc\.oauth-binding=/);

      const done = await finish(provider, flow.callback, flow.cookie);
      assert.equal(done.status, 303, done.text);
      assert.equal(done.headers.get("location"), `http://localhost/settings?connected=${provider}`);
      const [row] = await db().select().from(credentials);
      assert.equal(row!.provider, provider);
      assert.equal(row!.kind, "oauth");
      assert.equal(row!.userId, user.id);
      assert.equal(row!.keyId, "test");
      assert.ok(row!.accountName);
      assert.equal(row!.refreshable, true);
      const token = await getAccessToken(row!.id);
      assert.ok(fake.isLiveAccessToken(token), "the stored token is the one the provider issued");
      assert.ok(!row!.secret.includes(token));

      // The state was single use: the same callback again is refused and stores nothing more.
      const replay = await finish(provider, flow.callback, flow.cookie);
      assert.equal(replay.status, 400);
      assert.equal(await credentialCount(), 1);
    });
  }

  test("every bad state gets 400 and stores nothing: missing, unknown, expired, another browser, another user, another provider", async () => {
    const a = await signedInUser("a@example.com");
    const b = await signedInUser("b@example.com");
    const cases: [string, () => Promise<{ status: number; json: { detail: string } | null }>][] = [
      [
        "missing",
        async () => {
          const f = await startFlow("github", a);
          const url = new URL(f.callback);
          url.searchParams.delete("state");
          return finish("github", url, f.cookie);
        },
      ],
      [
        "unknown",
        async () => {
          const f = await startFlow("github", a);
          const url = new URL(f.callback);
          url.searchParams.set("state", "made-up-state");
          return finish("github", url, f.cookie);
        },
      ],
      [
        "expired",
        async () => {
          const f = await startFlow("github", a);
          await db()
            .update(oauthStates)
            .set({ expiresAt: sql`now() - interval '1 second'` });
          return finish("github", f.callback, f.cookie);
        },
      ],
      [
        "no binding cookie",
        async () => {
          const f = await startFlow("github", a);
          return finish("github", f.callback, a.cookie);
        },
      ],
      [
        "another browser",
        async () => {
          const f = await startFlow("github", a);
          return finish("github", f.callback, `${a.cookie}; dc.oauth-binding=${"x".repeat(43)}`);
        },
      ],
      [
        "another user's session",
        async () => {
          const f = await startFlow("github", a);
          return finish("github", f.callback, `${b.cookie}; ${f.binding}`);
        },
      ],
      [
        "another provider's callback",
        async () => {
          const f = await startFlow("github", a);
          return finish("gitlab", f.callback.toString().replace("/github/", "/gitlab/"), f.cookie);
        },
      ],
    ];
    for (const [name, attempt] of cases) {
      const res = await attempt();
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.json)}`);
      assert.match(res.json!.detail, /not valid/, name);
      assert.equal(await credentialCount(), 0, `${name} stored nothing`);
    }
  });

  test("PKCE: a code obtained with another verifier (code injection) or a reused code is refused, storing nothing", async () => {
    const victim = await signedInUser("victim@example.com");
    const attacker = await signedInUser("attacker@example.com");
    for (const provider of PROVIDERS) {
      const victimFlow = await startFlow(provider, victim);
      const attackerFlow = await startFlow(provider, attacker);
      // The attacker's code (bound to the attacker's challenge) pasted into the victim's callback.
      const injected = new URL(victimFlow.callback);
      injected.searchParams.set("code", attackerFlow.callback.searchParams.get("code")!);
      const res = await finish(provider, injected, victimFlow.cookie);
      assert.equal(res.status, 400, `${provider}: ${res.text}`);
      assert.match(res.json.detail, /refused the grant/);
      assert.equal(await credentialCount(), 0, `${provider} stored nothing`);
      // That code is now used: the attacker's own callback cannot redeem it either.
      assert.equal((await finish(provider, attackerFlow.callback, attackerFlow.cookie)).status, 400);
      assert.equal(await credentialCount(), 0);
    }
  });

  test("a provider error such as access_denied goes back to the settings page with the error, storing nothing", async () => {
    const user = await signedInUser("deny@example.com");
    fake.settings.deny = true;
    const flow = await startFlow("dropbox", user);
    const res = await finish("dropbox", flow.callback, flow.cookie);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "http://localhost/settings?oauth_error=access_denied&provider=dropbox");
    assert.equal(await credentialCount(), 0);
  });

  test("no open redirect through returnTo; unknown or unconfigured providers are clear 4xx", async () => {
    const user = await signedInUser("r@example.com");
    for (const [returnTo, expected] of [
      ["https://evil.example/x", "http://localhost/settings?connected=gitlab"],
      ["//evil.example/x", "http://localhost/settings?connected=gitlab"],
      ["/\\evil.example", "http://localhost/settings?connected=gitlab"],
      ["/..//evil.example", "http://localhost/settings?connected=gitlab"],
      ["/.%2e//evil.example", "http://localhost/settings?connected=gitlab"],
      ["/%2e%2E//evil.example/x", "http://localhost/settings?connected=gitlab"],
      ["/a/../..//evil.example", "http://localhost/settings?connected=gitlab"],
      ["/?tab=sources", "http://localhost/?tab=sources&connected=gitlab"],
      ["/sources/../settings", "http://localhost/settings?connected=gitlab"],
    ] as const) {
      const flow = await startFlow("gitlab", user, returnTo);
      const res = await finish("gitlab", flow.callback, flow.cookie);
      assert.equal(res.headers.get("location"), expected, returnTo);
    }
    // The callback checks the stored path again: a row that somehow holds `//evil` still goes home.
    const flow = await startFlow("gitlab", user, "/settings");
    await db().update(oauthStates).set({ returnTo: "//evil.example/x" });
    const res = await finish("gitlab", flow.callback, flow.cookie);
    assert.equal(res.headers.get("location"), "http://localhost/settings?connected=gitlab");
    const unknown = await callRoute(authorizeRoute.GET, "GET", "/api/oauth/svn/authorize", {
      cookie: user.cookie,
      params: { provider: "svn" },
    });
    assert.equal(unknown.status, 422);
    assert.match(unknown.json.detail, /Unknown OAuth provider/);
    const savedId = process.env.GOOGLE_CLIENT_ID;
    delete process.env.GOOGLE_CLIENT_ID;
    try {
      const unconfigured = await callRoute(authorizeRoute.GET, "GET", "/api/oauth/google/authorize", {
        cookie: user.cookie,
        params: { provider: "google" },
      });
      assert.equal(unconfigured.status, 400);
      assert.match(unconfigured.json.detail, /set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET/);
    } finally {
      process.env.GOOGLE_CLIENT_ID = savedId;
    }
  });

  test("ten users of one expired token at once cause exactly one refresh; all ten get the new token; the rotated refresh token is saved", async () => {
    const user = await signedInUser("r@example.com");
    const refreshToken = fake.issueRefreshToken("gitlab");
    const id = await expiredCredential("gitlab", user, refreshToken);
    fake.settings.refreshDelayMs = 300;
    const tokens = await Promise.all(Array.from({ length: 10 }, () => getAccessToken(id)));
    const refreshes = fake.calls.filter((c) => c.grant === "refresh_token" && c.provider === "gitlab");
    assert.equal(refreshes.length, 1, "one refresh call");
    assert.equal(new Set(tokens).size, 1, "all ten use the same token");
    assert.ok(fake.isLiveAccessToken(tokens[0]!));
    const [row] = await db().select().from(credentials).where(eq(credentials.id, id));
    assert.ok(row!.expiresAt!.getTime() > Date.now() + 3000 * 1000);
    assert.ok(row!.lastRefreshedAt);

    // The old refresh token is void at the provider; the saved rotated one still works.
    await db()
      .update(credentials)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(credentials.id, id));
    fake.settings.refreshDelayMs = 0;
    const again = await getAccessToken(id);
    assert.notEqual(again, tokens[0]);
    assert.ok(
      fake.calls.filter((c) => c.grant === "refresh_token").every((c) => c.ok),
      "never sent a void refresh token",
    );
  });

  test("invalid_grant marks the credential and its sources needs_reauth; reconnecting the same account restores them", async () => {
    const user = await signedInUser("g@example.com");
    const flow = await startFlow("github", user);
    await finish("github", flow.callback, flow.cookie);
    const [cred] = await db().select().from(credentials);
    const [source] = await db()
      .insert(sources)
      .values({
        userId: user.id,
        type: "github",
        name: "octocat/hello",
        config: { credentialId: cred!.id },
        status: "synced",
      })
      .returning();
    // The user revokes the app at GitHub: the refresh token dies; our access token expires.
    const { refreshToken } = JSON.parse(
      JSON.stringify(await import("@/lib/oauth/credential-secret").then((m) => m.openCredentialSecret(cred!))),
    );
    fake.revokeRefreshToken(refreshToken);
    await db()
      .update(credentials)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(credentials.id, cred!.id));
    await assert.rejects(
      getProviderToken(cred!.id),
      (err: unknown) => err instanceof ConnectorAuthError && /reconnected/.test((err as Error).message),
    );
    const [after1] = await db().select().from(credentials).where(eq(credentials.id, cred!.id));
    assert.equal(after1!.status, "needs_reauth");
    assert.match(after1!.lastError!, /bad_refresh_token/);
    assert.equal((await db().select().from(sources).where(eq(sources.id, source!.id)))[0]!.status, "needs_reauth");
    const listed = await callRoute(credentialsRoute.GET, "GET", "/api/credentials", { cookie: user.cookie });
    assert.equal(listed.json.credentials[0].status, "needs_reauth");

    const reconnect = await startFlow("github", user);
    assert.equal((await finish("github", reconnect.callback, reconnect.cookie)).status, 303);
    const rows = await db().select().from(credentials);
    assert.equal(rows.length, 1, "the same credential, updated in place");
    assert.equal(rows[0]!.status, "active");
    assert.equal((await db().select().from(sources).where(eq(sources.id, source!.id)))[0]!.status, "pending");
    assert.ok(fake.isLiveAccessToken(await getAccessToken(cred!.id)));
  });

  test("the scheduled refresh job refreshes tokens ahead of expiry", async () => {
    const user = await signedInUser("job@example.com");
    const soon = await expiredCredential("dropbox", user, fake.issueRefreshToken("dropbox"), 600);
    const later = await expiredCredential("google", user, fake.issueRefreshToken("google"), 7200);
    let worker: RunningWorker | null = null;
    try {
      worker = await startWorker({ watch: false });
      await (await getBoss()).send(QUEUES.refreshCredentials, {});
      await waitFor(
        async () => (await db().select().from(credentials).where(eq(credentials.id, soon)))[0]!.lastRefreshedAt,
        { what: "the refresh job" },
      );
    } finally {
      await worker?.stop({ timeout: 5000 });
    }
    const [laterRow] = await db().select().from(credentials).where(eq(credentials.id, later));
    assert.equal(laterRow!.lastRefreshedAt, null, "a token far from expiry is left alone");
    const [soonRow] = await db().select().from(credentials).where(eq(credentials.id, soon));
    assert.ok(soonRow!.expiresAt!.getTime() > Date.now() + 3000 * 1000);
  });

  test("POST /api/credentials stores PATs and Bitbucket API tokens sealed; bad input is a 422; a used credential cannot be deleted", async () => {
    const user = await signedInUser("pat@example.com");
    const pat = "glpat-KNOWNSECRET1234567890";
    const created = await callRoute(credentialsRoute.POST, "POST", "/api/credentials", {
      token: user.token,
      body: { provider: "gitlab", token: pat, accountName: "tanuki" },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.json.credential).sort(), [
      "accountId",
      "accountName",
      "createdAt",
      "expiresAt",
      "host",
      "id",
      "kind",
      "lastError",
      "provider",
      "scopes",
      "status",
      "updatedAt",
    ]);
    assert.equal(created.json.credential.kind, "pat");
    assert.equal(
      created.json.credential.host,
      "https://gitlab.com",
      "a GitLab token given without a host is gitlab.com's",
    );
    assert.equal(await getAccessToken(created.json.credential.id), pat);

    const noUser = await callRoute(credentialsRoute.POST, "POST", "/api/credentials", {
      token: user.token,
      body: { provider: "bitbucket", token: "ATATT-x" },
    });
    assert.equal(noUser.status, 422);
    assert.match(noUser.json.detail, /username is required/);
    const bb = await callRoute(credentialsRoute.POST, "POST", "/api/credentials", {
      token: user.token,
      body: { provider: "bitbucket", token: "ATATT-KNOWNBB", username: "me@example.com" },
    });
    assert.equal(bb.json.credential.kind, "api_token");
    assert.deepEqual(await getProviderToken(bb.json.credential.id), {
      provider: "bitbucket",
      kind: "api_token",
      accessToken: "ATATT-KNOWNBB",
      username: "me@example.com",
      host: null,
    });
    assert.equal(
      (
        await callRoute(credentialsRoute.POST, "POST", "/api/credentials", {
          token: user.token,
          body: { provider: "dropbox", token: "x" },
        })
      ).status,
      422,
    );

    const id = created.json.credential.id;
    await db()
      .insert(sources)
      .values({ userId: user.id, type: "gitlab", name: "g/r", config: { credentialId: id } });
    const refused = await callRoute(credentialRoute.DELETE, "DELETE", `/api/credentials/${id}`, {
      token: user.token,
      params: { id },
    });
    assert.equal(refused.status, 409);
    await db().delete(sources);
    assert.equal(
      (
        await callRoute(credentialRoute.DELETE, "DELETE", `/api/credentials/${id}`, {
          token: user.token,
          params: { id },
        })
      ).status,
      204,
    );
  });

  test("a known token never appears in an API response, what the pages render, a log line, or a pg_dump of the database", async () => {
    const user = await signedInUser("leak@example.com");
    const known = ["ghp_KNOWNLEAKCHECK0123456789abcdef0123", "ATATT-KNOWN-LEAK-BB"];
    await callRoute(credentialsRoute.POST, "POST", "/api/credentials", {
      token: user.token,
      body: { provider: "github", token: known[0] },
    });
    await callRoute(credentialsRoute.POST, "POST", "/api/credentials", {
      token: user.token,
      body: { provider: "bitbucket", token: known[1], username: "u@example.com" },
    });
    for (const provider of PROVIDERS) {
      const flow = await startFlow(provider, user);
      await finish(provider, flow.callback, flow.cookie);
    }
    // Refresh some, so rotated tokens are in play too; and leave one failing refresh in the log.
    const ids = (await db().select({ id: credentials.id, kind: credentials.kind }).from(credentials))
      .filter((c) => c.kind === "oauth")
      .map((c) => c.id);
    await db()
      .update(credentials)
      .set({ expiresAt: new Date(Date.now() - 1000) });
    for (const id of ids) known.push(await getAccessToken(id));
    for (const id of ids) {
      const secret = (await import("@/lib/oauth/credential-secret")).openCredentialSecret(
        (await db().select().from(credentials).where(eq(credentials.id, id)))[0]!,
      );
      if (secret.refreshToken) known.push(secret.refreshToken);
    }
    assert.ok(known.length >= 10);
    // Every response of the API, and the data the pages render.
    answered.push(
      JSON.stringify((await callRoute(credentialsRoute.GET, "GET", "/api/credentials", { token: user.token })).json),
    );
    answered.push(
      JSON.stringify((await callRoute(sourcesRoute.GET, "GET", "/api/sources", { token: user.token })).json),
    );
    answered.push(JSON.stringify(await listCredentials({ userId: user.id, role: "member", via: "session" })));
    answered.push(JSON.stringify(await listApiTokens(user.id)));

    const dump = await databaseDump();
    assert.ok(dump.includes("public.credentials"), "the dump holds the credentials table");
    for (const secret of known) {
      assert.ok(!answered.some((a) => a.includes(secret)), `a response contains ${secret.slice(0, 8)}…`);
      assert.ok(!logged.some((l) => l.includes(secret)), `a log line contains ${secret.slice(0, 8)}…`);
      assert.ok(!dump.includes(secret), `the database dump contains ${secret.slice(0, 8)}…`);
    }
  });
});
