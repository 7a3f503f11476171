import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { and, desc, eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as webhookRoute from "@/app/api/webhooks/gitlab/route";
import * as credentialsRoute from "@/app/api/credentials/route";
import * as browseRoute from "@/app/api/providers/[type]/browse/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { gitBlobSha } from "@/lib/connectors/git/archive";
import { gitlabConnector } from "@/lib/connectors/git/gitlab";
import { changes, files, sources, syncJobs, webhookEvents } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { GitRepo } from "./fakes/git-repo";
import { startGitLabFake } from "./fakes/gitlab-fake";
import { json, startHttpFake } from "./fakes/http-fake";
import {
  call,
  closeAll,
  db,
  deliveredSince,
  deliveryCount,
  operatorToken,
  resetDb,
  signedInUser,
  waitFor,
  waitForJob,
  pollDueSources,
} from "./helpers";

const TOKEN = "glpat-fakeTokenForTests01234";
const PROJECT = "group/sub/demo";

let repo: GitRepo;
let fake: Awaited<ReturnType<typeof startGitLabFake>>;
let worker: RunningWorker;
let token: string;

async function assertIndexExact(sourceId: string) {
  const rows = await db().select().from(files).where(eq(files.sourceId, sourceId));
  const expected = repo
    .tree(repo.head())
    .map((e) => [e.path, createHash("sha256").update(repo.blob(e.sha)!).digest("hex")]);
  assert.deepEqual(rows.map((r) => [r.path, r.sha]).sort(), expected.sort());
  const tree = new Map(repo.tree(repo.head()).map((e) => [e.path, e.sha]));
  for (const row of rows) assert.equal(row.providerVersion, tree.get(row.path), `blob SHA of ${row.path}`);
}

async function cursorIsHead(sourceId: string) {
  await waitFor(
    async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]?.cursor === repo.head(),
    { what: "the source to reach the head" },
  );
  await waitFor(async () => (await db().select().from(syncJobs).where(eq(syncJobs.status, "running"))).length === 0, {
    what: "jobs to settle",
  });
}

/** Until the job shows a rate-limit wait (polled fast: the waits are about a second). */
async function showsRateLimitWait(jobId: string) {
  await waitFor(
    async () =>
      ((await db().select().from(syncJobs).where(eq(syncJobs.id, jobId)))[0]?.detail ?? "").startsWith(
        "waiting for rate limit until ",
      ),
    {
      what: "the job to show the rate-limit wait",
      intervalMs: 20,
    },
  );
}

async function deliver(body: string, headers: Record<string, string>) {
  const response = await webhookRoute.POST(
    new Request("http://localhost/api/webhooks/gitlab", { method: "POST", headers, body }),
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

function push(secret: string, before: string, after: string, key = randomUUID(), ref = "refs/heads/main") {
  const body = JSON.stringify({
    object_kind: "push",
    ref,
    before,
    after,
    total_commits_count: 1,
    commits: [],
    project: { path_with_namespace: PROJECT, web_url: `${fake.base}/${PROJECT}` },
  });
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-gitlab-event": "Push Hook",
      "x-gitlab-token": secret,
      "idempotency-key": key,
      "x-gitlab-event-uuid": randomUUID(),
    },
  };
}

const log = (from: number) => fake.log(from).map((l) => l.replace(/[0-9a-f]{40}/g, "<sha>"));
const P = `/api/v4/projects/${PROJECT}`;
/** After connect the project is addressed by its id, whatever its path. */
const ID_P = "/api/v4/projects/7";
/** The project path as gitbeaker sends it (one encoded segment), for matching injected answers. */
const RAW_P = `/api/v4/projects/${encodeURIComponent(PROJECT)}`;

async function syncNow(sourceId: string, type: "full" | "incremental") {
  const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
    token,
    params: { id: sourceId },
    body: { type },
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return waitForJob(res.json.jobId);
}

async function indexedContent(sourceId: string) {
  const rows = await db().select().from(files).where(eq(files.sourceId, sourceId));
  return new Map(rows.map((r) => [r.path, r.sha]));
}
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

const CONNECTOR = gitlabConnector;
const CONNECTOR_CONFIG = () => ({ repo: PROJECT, host: fake.base, branch: "main" });

/** Runs `fn` against a repository and fake of its own (the shared repository stays as it is). */
async function withOwnRepo(initial: Record<string, string>, fn: (own: GitRepo) => Promise<void>) {
  const shared = fake;
  const own = new GitRepo();
  own.commit(initial, {}, "initial");
  fake = await startGitLabFake({ project: PROJECT, token: TOKEN, repo: own });
  const allowed = process.env.ALLOWED_PRIVATE_HOSTS;
  process.env.ALLOWED_PRIVATE_HOSTS = `${allowed},${new URL(fake.base).host}`;
  try {
    await fn(own);
  } finally {
    await fake.close();
    fake = shared;
    process.env.ALLOWED_PRIVATE_HOSTS = allowed;
  }
}

describe("GitLab sources", () => {
  before(async () => {
    repo = new GitRepo();
    repo.commit(
      { "README.md": "# Demo\n", "src/a.ts": "export const a = 1;\n", "src/b.py": "b = 2\n", "docs/c.md": "c\n" },
      {},
      "initial",
    );
    fake = await startGitLabFake({ project: PROJECT, token: TOKEN, repo });
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(fake.base).host;
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await fake.close();
    await closeAll();
  });
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
    process.env.APP_URL = "https://connector.example.test";
    fake.hooks.length = 0;
  });

  async function connect() {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "gitlab", name: PROJECT, config: { host: fake.base, token: TOKEN } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    return res.json.source as { id: string; config: Record<string, unknown>; webhookId: string };
  }

  test("a tree listing whose pages never end fails at PROVIDER_MAX_PAGES instead of holding them all", async () => {
    const next = `${fake.base}${RAW_P}/repository/tree?pagination=keyset&per_page=100&page_token=x&recursive=true`;
    fake.inject(/\/repository\/tree/, 200, {
      headers: { link: `<${next}>; rel="next"` },
      body: JSON.stringify([{ id: "a".repeat(40), name: "x", type: "blob", path: "x", mode: "100644" }]),
      times: 1000,
    });
    process.env.PROVIDER_MAX_PAGES = "5";
    const from = fake.requests.length;
    try {
      const connector = gitlabConnector.create({
        sourceId: null,
        config: { repo: PROJECT, host: fake.base, branch: "main" },
        token: TOKEN,
      });
      await assert.rejects(async () => {
        for await (const file of connector.listFiles()) void file;
      }, /PROVIDER_MAX_PAGES/);
      assert.ok(fake.log(from).filter((l) => l.endsWith("/repository/tree")).length <= 6);
    } finally {
      delete process.env.PROVIDER_MAX_PAGES;
      fake.clearInjections();
    }
  });

  test("a member's GitLab token is never sent to a host other than its issuer: connect, browse, PATCH of config.host", async () => {
    const seen: string[] = [];
    const other = await startHttpFake((req, res) => {
      seen.push(`${req.headers["private-token"] ?? ""} ${req.headers.authorization ?? ""}`);
      json(
        res,
        200,
        req.path.endsWith("/projects") ? [] : { id: 7, path_with_namespace: PROJECT, default_branch: "main" },
      );
    });
    const saved = process.env.ALLOWED_PRIVATE_HOSTS;
    // Both hosts are reachable: only the credential's binding can keep the token from the second.
    process.env.ALLOWED_PRIVATE_HOSTS = `${new URL(fake.base).host},${new URL(other.base).host}`;
    try {
      const member = await signedInUser("member@example.test");
      const created = await call(credentialsRoute.POST, "POST", "/api/credentials", {
        token: member.token,
        body: { provider: "gitlab", token: TOKEN, host: fake.base },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const credentialId = created.json.credential.id as string;
      assert.equal(created.json.credential.host, fake.base);
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token: member.token,
        body: { type: "gitlab", name: PROJECT, config: { host: fake.base, credentialId } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal((await waitForJob(res.json.jobId)).status, "completed");
      const sourceId = res.json.source.id as string;

      const elsewhere = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token: member.token,
        body: { type: "gitlab", name: "elsewhere", config: { repo: PROJECT, host: other.base, credentialId } },
      });
      assert.equal(elsewhere.status, 400, JSON.stringify(elsewhere.json));
      assert.match(elsewhere.json.detail, /issued by/);

      const browsed = await call(browseRoute.POST, "POST", "/api/providers/gitlab/browse", {
        token,
        params: { type: "gitlab" },
        body: { what: "repositories", credentialId, host: other.base },
      });
      assert.ok(browsed.status >= 400 && browsed.status < 500, JSON.stringify(browsed.json));

      const moved = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${sourceId}`, {
        token,
        params: { id: sourceId },
        body: { config: { host: other.base } },
      });
      assert.ok(moved.status >= 400 && moved.status < 500, JSON.stringify(moved.json));

      // A source's own sealed token is bound the same way: a new host needs a new token.
      const own = await connect();
      const ownMoved = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${own.id}`, {
        token,
        params: { id: own.id },
        body: { config: { host: other.base } },
      });
      assert.equal(ownMoved.status, 400, JSON.stringify(ownMoved.json));
      assert.match(ownMoved.json.detail, /new token/);

      assert.ok(!seen.some((h) => h.includes(TOKEN)), "the second host never saw the token");
    } finally {
      process.env.ALLOWED_PRIVATE_HOSTS = saved;
      await other.close();
    }
  });

  test("connect through a self-managed host: full sync exact from one archive, hook with a secret token", async () => {
    const from = fake.requests.length;
    const source = await connect();
    assert.deepEqual(source.config, { repo: PROJECT, host: fake.base, branch: "main", repoId: 7 });
    assert.equal(fake.hooks.length, 1);
    assert.equal(fake.hooks[0]!.url, "https://connector.example.test/api/webhooks/gitlab");
    assert.equal(fake.hooks[0]!.pushEvents, true);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${P}`,
      `POST ${ID_P}/hooks`,
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/archive.tar.gz`,
    ]);
  });

  test("a host the user typed that resolves to loopback is refused unless ALLOWED_PRIVATE_HOSTS lists it", async () => {
    const saved = process.env.ALLOWED_PRIVATE_HOSTS;
    delete process.env.ALLOWED_PRIVATE_HOSTS;
    try {
      const from = fake.requests.length;
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "gitlab", name: PROJECT, config: { host: fake.base, token: TOKEN } },
      });
      assert.equal(res.status, 400);
      assert.match(res.json.detail, /loopback, link-local or private address.*ALLOWED_PRIVATE_HOSTS/);
      assert.equal(fake.requests.length, from, "nothing was sent");
      const scheme = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "gitlab", name: PROJECT, config: { host: "ftp://gitlab.example.com", token: TOKEN } },
      });
      assert.equal(scheme.status, 400);
    } finally {
      process.env.ALLOWED_PRIVATE_HOSTS = saved;
    }
  });

  test("signed pushes: edit, add, rename, delete; a force-push; 400 files from one archive; redelivery deduplicated", async () => {
    const source = await connect();
    const secret = fake.hooks[0]!.token;
    let before = repo.head();
    repo.commit(
      { "src/a.ts": "export const a = 2;\n", "src/new.go": "package main\n", "docs/c.md": null },
      { "src/b.py": "lib/b.py" },
    );
    let from = fake.requests.length;
    const key = randomUUID();
    let p = push(secret, before, repo.head(), key);
    assert.equal((await deliver(p.body, p.headers)).status, 202);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/compare`,
      `GET ${ID_P}/repository/files/lib/b.py`,
      `GET ${ID_P}/repository/files/src/a.ts`,
      `GET ${ID_P}/repository/files/src/new.go`,
    ]);
    const redelivered = await deliver(p.body, { ...p.headers, "x-gitlab-event-uuid": randomUUID() });
    assert.equal(redelivered.json.duplicate, true, "Idempotency-Key identifies the delivery");

    // Force-push: drop the last commit, write another.
    const lost = repo.head();
    repo.resetTo(before);
    repo.commit({ "src/forced.rs": "fn main() {}\n" });
    from = fake.requests.length;
    p = push(secret, lost, repo.head());
    await deliver(p.body, p.headers);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    // A straight compare from the lost commit: the dropped edit, add and delete are undone, the
    // rename goes back, and only the files that differ are read.
    assert.deepEqual(log(from), [
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/compare`,
      `GET ${ID_P}/repository/files/docs/c.md`,
      `GET ${ID_P}/repository/files/src/a.ts`,
      `GET ${ID_P}/repository/files/src/b.py`,
      `GET ${ID_P}/repository/files/src/forced.rs`,
    ]);

    const many: Record<string, string> = {};
    for (let i = 0; i < 400; i++) many[`gen/f${i}.ts`] = `export const n = ${i};\n`;
    before = repo.head();
    repo.commit(many);
    from = fake.requests.length;
    p = push(secret, before, repo.head());
    await deliver(p.body, p.headers);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/compare`,
      `GET ${ID_P}/repository/archive.tar.gz`,
    ]);
    assert.equal((await db().select().from(webhookEvents)).length, 3);
  });

  test("a wrong or missing X-Gitlab-Token is a 401 and queues nothing; 429 with RateLimit-Reset is waited out", async () => {
    const source = await connect();
    const p = push("wrong-secret", repo.head(), repo.head());
    assert.equal((await deliver(p.body, p.headers)).status, 401);
    const { "x-gitlab-token": _, ...unsigned } = p.headers;
    void _;
    assert.equal((await deliver(p.body, unsigned)).status, 401);
    assert.equal((await db().select().from(webhookEvents)).length, 0);

    const before = repo.head();
    repo.commit({ "src/limited.ts": "export {};\n" });
    fake.inject(/repository\/compare/, 429, {
      headers: { "ratelimit-remaining": "0", "ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 1) },
      body: JSON.stringify({ message: "Retry later" }),
    });
    const ok = push(fake.hooks[0]!.token, before, repo.head());
    await deliver(ok.body, ok.headers);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"));
    await waitFor(
      async () =>
        ((await db().select().from(syncJobs).where(eq(syncJobs.id, job!.id)))[0]?.detail ?? "").startsWith(
          "waiting for rate limit until",
        ),
      { what: "rate-limit detail", intervalMs: 20 },
    );
    assert.equal((await waitForJob(job!.id)).status, "completed");
    await assertIndexExact(source.id);
    const deliveries = await db()
      .select()
      .from(changes)
      .where(and(eq(changes.path, "src/limited.ts"), eq(changes.status, "delivered")));
    assert.equal(deliveries.length, 1);

    assert.equal(
      (await call(sourceRoute.DELETE, "DELETE", `/api/sources/${source.id}`, { token, params: { id: source.id } }))
        .status,
      204,
    );
    assert.equal(fake.hooks.length, 0, "the project hook is removed with the source");
  });
  test("401, 403 and 404 at connect are 400s that say what to fix; nothing is stored", async () => {
    const connectWith = (config: Record<string, unknown>, name = PROJECT) =>
      call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "gitlab", name, config: { host: fake.base, token: TOKEN, ...config } },
      });
    const bad = await connectWith({ token: "glpat-wrongTokenForTests" });
    assert.equal(bad.status, 400);
    assert.match(bad.json.detail, /GitLab rejected the token \(401\).*new token/);
    assert.equal(bad.json.errors[0].path, "config.token");
    assert.ok(!JSON.stringify(bad.json).includes("glpat-wrongTokenForTests"));
    fake.inject(new RegExp(`^GET ${RAW_P}(\\?.*)?$`), 403, { body: JSON.stringify({ message: "403 Forbidden" }) });
    const forbidden = await connectWith({});
    assert.equal(forbidden.status, 400);
    assert.match(
      forbidden.json.detail,
      /GitLab refused access to group\/sub\/demo \(403\).*lacks permission.*read_repository/,
    );
    const missing = await connectWith({}, "group/sub/nope");
    assert.equal(missing.status, 400);
    assert.match(missing.json.detail, /group\/sub\/nope was not found \(404\)/);
    assert.equal(missing.json.errors[0].path, "config.repo");
    const branch = await connectWith({ branch: "nope" });
    assert.equal(branch.status, 400);
    assert.match(branch.json.detail, /branch "nope" does not exist/);
    assert.equal((await db().select().from(sources)).length, 0);
    assert.equal(fake.hooks.length, 0, "no hook was registered");
  });

  test("GitLab's 429s (throttle headers, Retry-After) on the archive, the compare and a file, and a burst of 5xx are waited out and retried; the index is exact", async () => {
    // The archive (5 a minute on gitlab.com) is asked again after the wait, not replaced by a tree walk.
    fake.throttle(/repository\/archive\.tar\.gz/, 1);
    let from = fake.requests.length;
    const source = await connect();
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${P}`,
      `POST ${ID_P}/hooks`,
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/archive.tar.gz`,
      `GET ${ID_P}/repository/archive.tar.gz`,
    ]);

    const before = repo.head();
    repo.commit({
      "src/throttled.ts": "export const throttled = true;\n",
      "src/second.ts": "export const second = 2;\n",
    });
    const seen = await deliveryCount(source.id);
    fake.throttle(/repository\/compare/, 1);
    // Three 503s: two are retried inline, the third fails the attempt, which pg-boss retries.
    fake.inject(/repository\/compare/, 503, { times: 3, body: JSON.stringify({ message: "503 Service Unavailable" }) });
    fake.throttle(/repository\/files\//, 1);
    fake.inject(/repository\/files\//, 502, {
      times: 2,
      headers: { "content-type": "text/html" },
      body: "<html><body><h1>502 Bad Gateway</h1></body></html>",
    });
    from = fake.requests.length;
    const p = push(fake.hooks[0]!.token, before, repo.head());
    assert.equal((await deliver(p.body, p.headers)).status, 202);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"));
    await showsRateLimitWait(job!.id);
    const done = await waitForJob(job!.id);
    assert.equal(done.status, "completed", done.errorMessage ?? "");
    assert.equal(done.detail, null);
    await assertIndexExact(source.id);
    assert.deepEqual(
      await deliveredSince(source.id, seen),
      ["upsert src/second.ts", "upsert src/throttled.ts"],
      "each change delivered once",
    );
    const compares = log(from).filter((l) => l.endsWith("/repository/compare")).length;
    assert.equal(
      compares,
      5,
      "one 429, three 503s (two inline retries and the retried attempt's first), then the answer",
    );
  });

  test("webhook bad input: missing or wrong X-Gitlab-Token 401, malformed 400, wrong type 415, too large 413, another project, branch or event recorded and ignored", async () => {
    await connect();
    const secret = fake.hooks[0]!.token;
    const jobsBefore = (await db().select().from(syncJobs)).length;
    const ok = push(secret, repo.head(), repo.head());

    const { "x-gitlab-token": _, ...unsigned } = ok.headers;
    void _;
    assert.equal((await deliver(ok.body, unsigned)).status, 401);
    assert.equal((await deliver(ok.body, { ...ok.headers, "x-gitlab-token": "not the secret" })).status, 401);
    assert.equal((await deliver(ok.body, { ...ok.headers, "x-gitlab-token": `${secret}x` })).status, 401);

    const other = ok.body.replace(`"${PROJECT}"`, '"someone/else"');
    assert.equal((await deliver(other, { ...ok.headers, "x-gitlab-token": "guessed" })).status, 401);

    assert.equal((await deliver("{not json", ok.headers)).status, 400);
    assert.equal(
      (await deliver(ok.body, { ...ok.headers, "content-type": "application/x-www-form-urlencoded" })).status,
      415,
    );
    const huge = " ".repeat(25 * 1024 * 1024 + 1);
    assert.equal((await deliver(huge, ok.headers)).status, 413);
    assert.equal(
      (await db().select().from(webhookEvents)).length,
      0,
      "nothing recorded for rejected or unknown deliveries",
    );

    const fresh = () => ({ ...ok.headers, "idempotency-key": randomUUID(), "x-gitlab-event-uuid": randomUUID() });
    const unknown = await deliver(other, fresh());
    assert.equal(unknown.status, 202);
    assert.equal(unknown.json.queued, 0, "a verified push about another project is recorded and ignored");
    // The same project path on another GitLab instance is not this source's project.
    const elsewhere = ok.body.replace(fake.base, "https://gitlab.example.com");
    assert.equal((await deliver(elsewhere, fresh())).json.queued, 0);

    const branch = push(secret, repo.head(), repo.head(), randomUUID(), "refs/heads/feature");
    const ignored = await deliver(branch.body, branch.headers);
    assert.equal(ignored.status, 202);
    assert.equal(ignored.json.queued, 0);
    const tag = push(secret, repo.head(), repo.head(), randomUUID(), "refs/tags/v1.0");
    const tagged = await deliver(tag.body, { ...tag.headers, "x-gitlab-event": "Tag Push Hook" });
    assert.equal(tagged.status, 202);
    assert.equal(tagged.json.queued, 0);
    const events = await db().select().from(webhookEvents);
    assert.deepEqual(events.map((e) => `${e.eventType} ${e.processed}`).sort(), [
      "Push Hook false",
      "Push Hook false",
      "Push Hook false",
      "Tag Push Hook false",
    ]);
    assert.equal((await db().select().from(syncJobs)).length, jobsBefore, "nothing queued");
  });

  test("without APP_URL (or without the api scope for hooks) the project is polled: one branch lookup, a sync only when the head moved; delete removes the hook", async () => {
    delete process.env.APP_URL;
    const source = await connect();
    assert.equal(source.webhookId, null);
    assert.equal(fake.hooks.length, 0);
    let from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    // GitLab's REST API documents no conditional requests that spare the rate limit: one plain lookup.
    assert.deepEqual(fake.log(from), [`GET ${ID_P}/repository/branches/main`]);
    const seen = await deliveryCount(source.id);
    repo.commit({ "polled.md": "found by polling\n" });
    from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "schedule"));
    assert.equal((await waitForJob(job!.id)).status, "completed");
    assert.deepEqual(await deliveredSince(source.id, seen), ["upsert polled.md"]);
    assert.deepEqual(log(from), [
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/branches/main`,
      `GET ${ID_P}/repository/compare`,
      `GET ${ID_P}/repository/files/polled.md`,
    ]);
    from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    assert.equal(fake.requests.length - from, 1);

    // A token without the api scope cannot add the hook (403): the source is kept and polled.
    process.env.APP_URL = "https://connector.example.test";
    fake.inject(new RegExp(`^POST ${ID_P}/hooks`), 403, { body: JSON.stringify({ message: "403 Forbidden" }) });
    const noHook = await connect();
    assert.equal(noHook.webhookId, null);
    assert.equal(fake.hooks.length, 0);
    assert.deepEqual(await pollDueSources(), { checked: 2, queued: 0 });

    const hooked = await connect();
    assert.equal(fake.hooks.length, 1);
    assert.equal(
      (await call(sourceRoute.DELETE, "DELETE", `/api/sources/${hooked.id}`, { token, params: { id: hooked.id } }))
        .status,
      204,
    );
    assert.equal(fake.hooks.length, 0);
  });

  test("symlinks and submodules are indexed by no sync: a pushed symlink, a file turned symlink and a submodule bump leave the incremental index equal to the full one", async () => {
    delete process.env.APP_URL;
    await withOwnRepo({ "a.md": "# a\n", "b.md": "# b\n" }, async (own) => {
      const { id: sourceId } = await connect();
      own.commitLinks({ symlinks: { "link.md": "a.md", "b.md": "a.md" }, submodules: { "vendor/lib": own.head() } });
      let job = await syncNow(sourceId, "incremental");
      assert.equal(job.status, "completed", job.errorMessage ?? "");
      assert.equal(job.filesFailed, 0);
      assert.deepEqual([...(await indexedContent(sourceId))], [["a.md", sha256("# a\n")]]);

      own.commitLinks({ submodules: { "vendor/lib": own.head() } });
      job = await syncNow(sourceId, "incremental");
      assert.equal(job.status, "completed", job.errorMessage ?? "");
      assert.equal(job.filesFailed, 0, "a submodule bump is not a file to read");
      const before = await deliveryCount(sourceId);
      job = await syncNow(sourceId, "full");
      assert.equal(job.status, "completed", job.errorMessage ?? "");
      assert.equal(await deliveryCount(sourceId), before, "the full sync finds nothing the incremental one got wrong");
      assert.deepEqual([...(await indexedContent(sourceId)).keys()], ["a.md"]);
    });
  });

  test("a renamed, then transferred project is followed by its id: the poll stores the new path, the sync indexes the push; a source without a stored id learns it", async () => {
    delete process.env.APP_URL;
    await withOwnRepo({ "a.md": "# a\n" }, async (own) => {
      const { id: sourceId } = await connect();
      const config = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.config;
      assert.equal((await config()).repoId, 7, "the project's id is stored at connect");
      const { repoId: _, ...withoutId } = await config();
      void _;
      await db().update(sources).set({ config: withoutId }).where(eq(sources.id, sourceId));
      assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
      assert.equal((await config()).repoId, 7, "a source connected before ids were stored learns its project's id");

      for (const [next, file] of [
        ["group/renamed", "after-rename.md"],
        ["neworg/renamed", "after-transfer.md"],
      ] as const) {
        fake.renameProject(next);
        own.commit({ [file]: `# ${file}\n` });
        assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
        assert.equal((await config()).repo, next);
        const [job] = await db()
          .select()
          .from(syncJobs)
          .where(eq(syncJobs.sourceId, sourceId))
          .orderBy(desc(syncJobs.createdAt))
          .limit(1);
        assert.equal((await waitForJob(job!.id)).status, "completed");
        assert.ok((await indexedContent(sourceId)).has(file));
        assert.equal((await config()).repo, next);
        assert.equal((await config()).repoId, 7);
      }
    });
  });

  test("a webhook is matched by the project's id: a push from the moved project syncs and stores its path; another project under the followed path is recorded and ignored", async () => {
    await withOwnRepo({ "a.md": "# a\n" }, async (own) => {
      const { id: sourceId } = await connect();
      const secret = fake.hooks[0]!.token;
      const config = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.config;
      const pushFrom = (path: string, id: number) => {
        const p = push(secret, own.head(), own.head());
        const body = JSON.parse(p.body);
        body.project = { id, path_with_namespace: path, web_url: `${fake.base}/${path}` };
        return { body: JSON.stringify(body), headers: p.headers };
      };
      const impostor = pushFrom(PROJECT, 99);
      const ignored = await deliver(impostor.body, impostor.headers);
      assert.equal(ignored.status, 202);
      assert.equal(ignored.json.queued, 0, "a verified push about another project is recorded and ignored");

      fake.renameProject("neworg/moved");
      own.commit({ "after-move.md": "# moved\n" });
      const moved = pushFrom("neworg/moved", 7);
      const accepted = await deliver(moved.body, moved.headers);
      assert.equal(accepted.status, 202);
      assert.equal(accepted.json.queued, 1, "the moved project is still the source's");
      const [job] = await db()
        .select()
        .from(syncJobs)
        .where(eq(syncJobs.trigger, "webhook"))
        .orderBy(desc(syncJobs.createdAt))
        .limit(1);
      assert.equal((await waitForJob(job!.id)).status, "completed");
      assert.ok((await indexedContent(sourceId)).has("after-move.md"));
      assert.equal((await config()).repo, "neworg/moved");
    });
  });

  test("a file read by a connector created afresh (a batch on another worker) is the listed commit's, not the moved head's", async () => {
    await withOwnRepo({ "a.md": "# first\n" }, async (own) => {
      const context = { sourceId: null, config: CONNECTOR_CONFIG(), token: TOKEN };
      const listed = [];
      for await (const file of CONNECTOR.create(context).listFiles()) listed.push(file);
      own.commit({ "a.md": "# pushed after the listing\n" });
      const file = listed.find((f) => f.path === "a.md")!;
      const content = await CONNECTOR.create(context).getFileContent(file.path, file);
      assert.equal(gitBlobSha(content), file.version);
      assert.equal(content.toString(), "# first\n");
    });
  });

  test("a file GitLab lists without a size is cut one byte past maxFileSize while it streams, never held whole; the sync drops it", async () => {
    const big = "x".repeat(6 * 1024 * 1024);
    await withOwnRepo({ "small.md": "# small\n", "big.txt": big }, async () => {
      const context = { sourceId: null, config: { ...CONNECTOR_CONFIG(), maxFileSize: 1000 }, token: TOKEN };
      const listed = [];
      for await (const file of CONNECTOR.create(context).listFiles()) listed.push(file);
      const file = listed.find((f) => f.path === "big.txt")!;
      assert.equal(file.size, null, "GitLab's tree has no sizes");
      const content = await CONNECTOR.create(context).getFileContent(file.path, file);
      assert.equal(content.length, 1001);
      const byPath = await CONNECTOR.create(context).getFileContent("big.txt");
      assert.equal(byPath.length, 1001, "read by path (no blob id) is capped too");
      const defaultCap = await CONNECTOR.create({ ...context, config: CONNECTOR_CONFIG() }).getFileContent(
        file.path,
        file,
      );
      assert.equal(defaultCap.length, 1024 * 1024 + 1, "without maxFileSize, the default cap (1 MB)");
      const small = listed.find((f) => f.path === "small.md")!;
      assert.equal((await CONNECTOR.create(context).getFileContent(small.path, small)).toString(), "# small\n");

      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "gitlab", name: PROJECT, config: { ...CONNECTOR_CONFIG(), token: TOKEN, maxFileSize: 1000 } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal((await waitForJob(res.json.jobId)).status, "completed");
      const rows = await db().select().from(files).where(eq(files.sourceId, res.json.source.id));
      assert.deepEqual(
        rows.map((r) => r.path),
        ["small.md"],
      );
    });
  });
});
