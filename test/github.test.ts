import assert from "node:assert/strict";
import { createHash, createHmac, randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { desc, eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as webhookRoute from "@/app/api/webhooks/github/route";
import * as credentialsRoute from "@/app/api/credentials/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as filesRoute from "@/app/api/sources/[id]/files/route";
import { gitBlobSha } from "@/lib/connectors/git/archive";
import { githubConnector } from "@/lib/connectors/git/github";
import { files, pollBudgets, sources, syncJobs, webhookEvents } from "@/lib/db/schema";
import { pollSources } from "@/lib/queue/poll-sources";
import { verifyHmacSha256 } from "@/lib/connectors/git/shared";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { GitRepo } from "./fakes/git-repo";
import { startGitHubFake } from "./fakes/github-fake";
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

const TOKEN = "ghp_fakeTokenForTests0123456789";
const OWNER = "octo";
const NAME = "demo";

let repo: GitRepo;
let fake: Awaited<ReturnType<typeof startGitHubFake>>;
let worker: RunningWorker;
let token: string;

const INITIAL: Record<string, string | Buffer> = {
  "README.md": "# Demo\n",
  "src/index.ts": "export const answer = 42;\n",
  "src/util.py": "def add(a, b):\n    return a + b\n",
  "docs/guide.md": "Read me.\n",
  "node_modules/lib/index.js": "module.exports = 1;\n",
  "assets/logo.bin": Buffer.from([0, 1, 2, 3, 0, 255]),
};

/** What the index must hold for the branch head: every regular text file outside excluded folders. */
function expectedIndex(): Map<string, string> {
  const expected = new Map<string, string>();
  for (const entry of repo.tree(repo.head())) {
    if (entry.path.startsWith("node_modules/") || entry.path.endsWith(".bin")) continue;
    expected.set(entry.path, createHash("sha256").update(repo.blob(entry.sha)!).digest("hex"));
  }
  return expected;
}

async function assertIndexExact(sourceId: string) {
  const rows = await db().select().from(files).where(eq(files.sourceId, sourceId));
  const actual = new Map(rows.map((r) => [r.path, r.sha]));
  assert.deepEqual([...actual.entries()].sort(), [...expectedIndex().entries()].sort());
  const tree = new Map(repo.tree(repo.head()).map((e) => [e.path, e.sha]));
  for (const row of rows) assert.equal(row.providerVersion, tree.get(row.path), `blob SHA of ${row.path}`);
}

async function connect(config: Record<string, unknown> = {}) {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "github", name: `${OWNER}/${NAME}`, config: { token: TOKEN, ...config } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return { sourceId: res.json.source.id as string, source: res.json.source };
}

function pushPayload(before: string, after: string, ref = "refs/heads/main") {
  return JSON.stringify({
    ref,
    before,
    after,
    forced: false,
    created: false,
    deleted: false,
    commits: [],
    repository: { full_name: `${OWNER}/${NAME}` },
  });
}

function signedHeaders(
  body: string,
  secret: string,
  event = "push",
  delivery = randomUUID(),
  hookId = String(fake.hooks.at(-1)?.id ?? 0),
) {
  return {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": delivery,
    "x-github-hook-id": hookId,
    "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    "user-agent": "GitHub-Hookshot/test",
  };
}

async function deliver(body: string, headers: Record<string, string>) {
  const response = await webhookRoute.POST(
    new Request("http://localhost/api/webhooks/github", { method: "POST", headers, body }),
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** The requests of the sync jobs only (the webhook answers without calling GitHub). */
const syncLog = (from: number) => fake.log(from).map((l) => l.replace(/[0-9a-f]{40}/g, "<sha>"));

/** Runs `fn` against a repository and fake of its own (the shared repository stays as it is). */
async function withOwnRepo(
  initial: Record<string, string> | null,
  fn: (own: { repo: GitRepo; fake: Awaited<ReturnType<typeof startGitHubFake>> }) => Promise<void>,
) {
  const own = new GitRepo();
  if (initial) own.commit(initial, {}, "initial");
  const ownFake = await startGitHubFake({ owner: OWNER, name: NAME, token: TOKEN, repo: own });
  process.env.GITHUB_API_URL = ownFake.base;
  try {
    await fn({ repo: own, fake: ownFake });
  } finally {
    process.env.GITHUB_API_URL = fake.base;
    await ownFake.close();
  }
}

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

describe("GitHub sources", () => {
  before(async () => {
    repo = new GitRepo();
    repo.commit(INITIAL, {}, "initial");
    fake = await startGitHubFake({ owner: OWNER, name: NAME, token: TOKEN, repo });
    process.env.GITHUB_API_URL = fake.base;
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

  test("GitHub's documented signature test vector verifies, and a wrong secret does not", () => {
    const signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert.equal(verifyHmacSha256("Hello, World!", "It's a Secret to Everybody", signature), true);
    assert.equal(verifyHmacSha256("Hello, World!", "another secret", signature), false);
    assert.equal(verifyHmacSha256("Hello, World!", "It's a Secret to Everybody", null), false);
  });

  test("connect: full sync exact in 3 requests, webhook registered, token stored sealed and never returned", async () => {
    const from = fake.requests.length;
    const { sourceId, source } = await connect();
    assert.deepEqual(source.config, { repo: `${OWNER}/${NAME}`, branch: "main", repoId: 1 });
    assert.ok(source.webhookId);
    assert.equal(fake.hooks.length, 1);
    assert.equal(fake.hooks[0]!.url, "https://connector.example.test/api/webhooks/github");
    assert.equal(fake.hooks[0]!.contentType, "json");
    assert.deepEqual(fake.hooks[0]!.events, ["push"]);
    const [row] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.ok(row!.tokenSecret && !row!.tokenSecret.includes(TOKEN));
    assert.ok(row!.webhookSecret && !row!.webhookSecret.includes(fake.hooks[0]!.secret));
    assert.ok(!JSON.stringify(row!.config).includes(TOKEN));
    assert.equal(row!.cursor, repo.head());

    await assertIndexExact(sourceId);
    assert.deepEqual(syncLog(from), [
      `GET /repos/${OWNER}/${NAME}`,
      `POST /repos/${OWNER}/${NAME}/hooks`,
      `GET /repos/${OWNER}/${NAME}/commits/main`,
      `GET /repos/${OWNER}/${NAME}/tarball/<sha>`,
      `GET /_codeload/${OWNER}/${NAME}/legacy.tar.gz/<sha>`,
    ]);
    const list = await call(sourcesRoute.GET, "GET", "/api/sources", { token });
    assert.ok(!JSON.stringify(list.json).includes(TOKEN));
  });

  test("a source may use a stored token credential (config.credentialId) instead of its own token; another user's credential is refused", async () => {
    const created = await call(credentialsRoute.POST, "POST", "/api/credentials", {
      token,
      body: { provider: "github", token: TOKEN, accountName: "octo" },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const credentialId = created.json.credential.id as string;
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "github", name: `${OWNER}/${NAME}`, config: { credentialId } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    const [row] = await db().select().from(sources).where(eq(sources.id, res.json.source.id));
    assert.equal(row!.tokenSecret, null, "the source keeps no token of its own");
    assert.equal(res.json.source.config.credentialId, credentialId);
    await assertIndexExact(row!.id);

    const other = await signedInUser("other@example.test");
    const refused = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token: other.token,
      body: { type: "github", name: `${OWNER}/${NAME}`, config: { credentialId } },
    });
    assert.equal(refused.status, 400);
    assert.match(refused.json.detail, /credentialId/);
  });

  test("a signed push: incremental sync with an edit, an add, a rename and a delete, one blob request per changed blob", async () => {
    const { sourceId } = await connect();
    const secret = fake.hooks[0]!.secret;
    const before = repo.head();
    const seen = await deliveryCount(sourceId);
    const after = repo.commit(
      { "src/index.ts": "export const answer = 43;\n", "src/new.go": "package main\n", "docs/guide.md": null },
      { "src/util.py": "lib/util.py" },
    );
    const body = pushPayload(before, after);
    const delivery = randomUUID();
    const from = fake.requests.length;
    const res = await deliver(body, signedHeaders(body, secret, "push", delivery));
    assert.equal(res.status, 202);
    assert.equal(fake.requests.length, from, "the webhook answers without calling GitHub");
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"));
    assert.equal((await waitForJob(job!.id)).status, "completed");
    assert.deepEqual(await deliveredSince(sourceId, seen), [
      "delete docs/guide.md",
      "delete src/util.py",
      "upsert lib/util.py",
      "upsert src/index.ts",
      "upsert src/new.go",
    ]);
    await assertIndexExact(sourceId);
    assert.deepEqual(syncLog(from), [
      `GET /repos/${OWNER}/${NAME}/commits/main`,
      `GET /repos/${OWNER}/${NAME}/compare/<sha>...<sha>`,
      // The compare names no modes: the head's tree tells files from symlinks and submodules.
      `GET /repos/${OWNER}/${NAME}/git/trees/<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
    ]);

    // A redelivery (same delivery id) queues nothing new.
    const again = await deliver(body, signedHeaders(body, secret, "push", delivery));
    assert.equal(again.status, 202);
    assert.equal(again.json.duplicate, true);
    assert.equal((await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"))).length, 1);
    const events = await db().select().from(webhookEvents);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.processed, true);
  });

  test("a force-push diffs the trees by blob SHA; a push of 400 files reads one archive", async () => {
    const { sourceId } = await connect();
    const secret = fake.hooks[0]!.secret;
    const base = repo.head();
    repo.commit({ "src/index.ts": "export const answer = 1;\n", "dropped.txt": "only on the old history\n" });
    let body = pushPayload(base, repo.head());
    await deliver(body, signedHeaders(body, secret));
    await waitFor(
      async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]?.cursor === repo.head(),
      { what: "first push synced" },
    );
    // Force-push: the branch loses that commit and gets another.
    const lost = repo.head();
    repo.resetTo(base);
    repo.commit({ "src/other.rs": "fn main() {}\n" }, {}, "rewritten");
    let from = fake.requests.length;
    body = JSON.stringify({ ...JSON.parse(pushPayload(lost, repo.head())), forced: true });
    assert.equal((await deliver(body, signedHeaders(body, secret))).status, 202);
    await waitFor(
      async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]?.cursor === repo.head(),
      { what: "force-push synced" },
    );
    await waitFor(async () => (await db().select().from(syncJobs).where(eq(syncJobs.status, "running"))).length === 0, {
      what: "job settled",
    });
    await assertIndexExact(sourceId);
    assert.deepEqual(syncLog(from), [
      `GET /repos/${OWNER}/${NAME}/commits/main`,
      `GET /repos/${OWNER}/${NAME}/compare/<sha>...<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/trees/<sha>`,
      // Only blobs that differ from the index are read: src/index.ts, src/other.rs, and
      // assets/logo.bin (binary, so never indexed: a full comparison reads it again).
      // dropped.txt, gone with the rewritten commit, is deleted.
      `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
    ]);

    const many: Record<string, string> = {};
    for (let i = 0; i < 400; i++) many[`gen/file-${i}.ts`] = `export const n${i} = ${i};\n`;
    const before = repo.head();
    repo.commit(many);
    from = fake.requests.length;
    body = pushPayload(before, repo.head());
    await deliver(body, signedHeaders(body, secret));
    await waitFor(
      async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]?.cursor === repo.head(),
      { what: "400-file push synced" },
    );
    await assertIndexExact(sourceId);
    assert.deepEqual(syncLog(from), [
      `GET /repos/${OWNER}/${NAME}/commits/main`,
      `GET /repos/${OWNER}/${NAME}/compare/<sha>...<sha>`,
      `GET /repos/${OWNER}/${NAME}/git/trees/<sha>`,
      `GET /repos/${OWNER}/${NAME}/tarball/<sha>`,
      `GET /_codeload/${OWNER}/${NAME}/legacy.tar.gz/<sha>`,
    ]);
  });

  test("401, 403 and 404 at connect are 400s that say what to fix; nothing is stored", async () => {
    const bad = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "github", name: `${OWNER}/${NAME}`, config: { token: "wrong" } },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.json.detail, /rejected the token \(401\).*new token/);
    assert.ok(!JSON.stringify(bad.json).includes('wrong"'));
    fake.inject(/^GET \/repos\/octo\/demo$/, 403, {
      body: JSON.stringify({ message: "Resource not accessible by personal access token" }),
    });
    const forbidden = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "github", name: `${OWNER}/${NAME}`, config: { token: TOKEN } },
    });
    assert.equal(forbidden.status, 400);
    assert.match(forbidden.json.detail, /403.*lacks permission/);
    const missing = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "github", name: "octo/nope", config: { token: TOKEN } },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.json.detail, /octo\/nope was not found \(404\)/);
    assert.equal(missing.json.errors[0].path, "config.repo");
    const branch = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "github", name: `${OWNER}/${NAME}`, config: { token: TOKEN, branch: "nope" } },
    });
    assert.equal(branch.status, 400);
    assert.match(branch.json.detail, /branch "nope" does not exist/);
    assert.equal((await db().select().from(sources)).length, 0);
  });

  test("429, the secondary rate limit and a 502 are waited out (shown on the job), not failed", async () => {
    const { sourceId } = await connect();
    const secret = fake.hooks[0]!.secret;
    const before = repo.head();
    repo.commit({ "src/limited.ts": "export {};\n", "src/second.ts": "export {};\n" });
    fake.inject(/^GET \/repos\/octo\/demo\/compare\//, 429, {
      headers: { "retry-after": "1" },
      body: JSON.stringify({ message: "API rate limit exceeded" }),
    });
    fake.inject(/^GET \/repos\/octo\/demo\/git\/blobs\//, 403, {
      headers: { "retry-after": "1" },
      body: JSON.stringify({
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      }),
    });
    fake.inject(/^GET \/repos\/octo\/demo\/git\/blobs\//, 502, { body: JSON.stringify({ message: "Server Error" }) });
    const body = pushPayload(before, repo.head());
    await deliver(body, signedHeaders(body, secret));
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"));
    await waitFor(
      async () => {
        const [row] = await db().select().from(syncJobs).where(eq(syncJobs.id, job!.id));
        return row?.detail?.startsWith("waiting for rate limit until ") ? row : null;
      },
      { what: "the job to show the rate-limit wait", intervalMs: 20 },
    );
    assert.equal((await waitForJob(job!.id)).status, "completed");
    await assertIndexExact(sourceId);
  });

  test("webhook bad input: missing or wrong signature or unknown hook 401, malformed 400, wrong type 415, too large 413, other repository or branch recorded and ignored, ping answered", async () => {
    const { sourceId } = await connect();
    const secret = fake.hooks[0]!.secret;
    const body = pushPayload(repo.head(), repo.head());
    const jobsBefore = (await db().select().from(syncJobs)).length;

    const { "x-hub-signature-256": _, ...unsigned } = signedHeaders(body, secret);
    void _;
    assert.equal((await deliver(body, unsigned)).status, 401);
    assert.equal((await deliver(body, signedHeaders(body, "not the secret"))).status, 401);
    const tampered = signedHeaders(body, secret);
    assert.equal((await deliver(body.replace("main", "mainx"), tampered)).status, 401);

    const other = JSON.stringify({ ...JSON.parse(body), repository: { full_name: "someone/else" } });
    const unknown = await deliver(other, signedHeaders(other, "whatever", "push", randomUUID(), "999999"));
    assert.equal(unknown.status, 401, "a hook id no source owns");
    const { "x-github-hook-id": __, ...noHook } = signedHeaders(body, secret);
    void __;
    assert.equal((await deliver(body, noHook)).status, 401, "no hook id");

    assert.equal((await deliver("{not json", signedHeaders("{not json", secret))).status, 400);
    assert.equal(
      (await deliver(body, { ...signedHeaders(body, secret), "content-type": "application/x-www-form-urlencoded" }))
        .status,
      415,
    );
    const huge = " ".repeat(25 * 1024 * 1024 + 1);
    assert.equal((await deliver(huge, signedHeaders(huge, secret))).status, 413);
    assert.equal(
      (await db().select().from(webhookEvents)).length,
      0,
      "nothing recorded for rejected or unknown deliveries",
    );

    const otherRepository = await deliver(other, signedHeaders(other, secret));
    assert.equal(otherRepository.status, 202);
    assert.equal(otherRepository.json.queued, 0, "a verified push about another repository is recorded and ignored");

    const branchBody = pushPayload(repo.head(), repo.head(), "refs/heads/feature");
    const branch = await deliver(branchBody, signedHeaders(branchBody, secret));
    assert.equal(branch.status, 202);
    assert.equal(branch.json.queued, 0);
    const ping = JSON.stringify({
      zen: "Keep it logically awesome.",
      hook_id: 1,
      repository: { full_name: `${OWNER}/${NAME}` },
    });
    const pong = await deliver(ping, signedHeaders(ping, secret, "ping"));
    assert.equal(pong.status, 200);
    const events = await db().select().from(webhookEvents);
    assert.deepEqual(events.map((e) => `${e.eventType} ${e.processed}`).sort(), [
      "ping false",
      "push false",
      "push false",
    ]);
    assert.equal((await db().select().from(syncJobs)).length, jobsBefore, "nothing queued");
    assert.ok(sourceId);
  });

  test("without APP_URL the source is polled: one conditional ref lookup, a sync only when the head moved; delete removes the webhook", async () => {
    delete process.env.APP_URL;
    const { sourceId, source } = await connect();
    assert.equal(source.webhookId, null);
    let from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    assert.deepEqual(fake.log(from), [`GET /repos/${OWNER}/${NAME}/commits/main`]);
    const before = await deliveryCount(sourceId);
    repo.commit({ "polled.md": "found by polling\n" });
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "schedule"));
    assert.equal((await waitForJob(job!.id)).status, "completed");
    assert.deepEqual(await deliveredSince(sourceId, before), ["upsert polled.md"]);
    from = fake.requests.length;
    await pollDueSources();
    const conditional = fake.requests.slice(from);
    assert.equal(conditional.length, 1);
    // The validator lives on the source, not in a worker's memory: any worker's poll is conditional.
    const [stored] = await db()
      .select({ validator: sources.headValidator, cursor: sources.cursor })
      .from(sources)
      .where(eq(sources.id, sourceId));
    assert.deepEqual(stored!.validator, { etag: `"${stored!.cursor}"`, head: stored!.cursor });
    assert.equal(
      conditional[0]!.headers["if-none-match"],
      stored!.validator!.etag,
      "the poll is a conditional request",
    );

    process.env.APP_URL = "https://connector.example.test";
    const hooked = await connect();
    assert.equal(fake.hooks.length, 1);
    const removed = await call(sourceRoute.DELETE, "DELETE", `/api/sources/${hooked.sourceId}`, {
      token,
      params: { id: hooked.sourceId },
    });
    assert.equal(removed.status, 204);
    assert.equal(fake.hooks.length, 0);
  });

  test("PATCH to another repository moves the webhook: a hook there with its own secret, the old one removed", async () => {
    // A fake where every repository of the owner exists (the same content), hooks kept per repository.
    const hosts = await startGitHubFake({ owner: OWNER, name: NAME, token: TOKEN, repo, anyRepo: true });
    process.env.GITHUB_API_URL = hosts.base;
    try {
      const { sourceId, source } = await connect();
      assert.deepEqual(
        hosts.hooks.map((h) => h.repo),
        [NAME],
      );
      const oldSecret = hosts.hooks[0]!.secret;
      const oldHook = String(hosts.hooks[0]!.id);
      const moved = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${sourceId}`, {
        token,
        params: { id: sourceId },
        body: { config: { repo: `${OWNER}/moved` } },
      });
      assert.equal(moved.status, 200, JSON.stringify(moved.json));
      assert.equal(moved.json.source.config.repo, `${OWNER}/moved`);
      assert.deepEqual(
        hosts.hooks.map((h) => h.repo),
        ["moved"],
        "the hook moved with the source",
      );
      assert.ok(moved.json.source.webhookId && moved.json.source.webhookId !== source.webhookId);
      const newSecret = hosts.hooks[0]!.secret;
      assert.notEqual(newSecret, oldSecret);
      const [job] = await db()
        .select()
        .from(syncJobs)
        .where(eq(syncJobs.sourceId, sourceId))
        .orderBy(desc(syncJobs.createdAt))
        .limit(1);
      assert.equal((await waitForJob(job!.id)).status, "completed");

      const body = JSON.stringify({
        ref: "refs/heads/main",
        before: repo.head(),
        after: repo.head(),
        commits: [],
        repository: { full_name: `${OWNER}/moved` },
      });
      const pushed = await deliver(
        body,
        signedHeaders(body, newSecret, "push", randomUUID(), String(hosts.hooks[0]!.id)),
      );
      assert.equal(pushed.status, 202);
      assert.equal(pushed.json.queued, 1);
      assert.equal(
        (await deliver(body, signedHeaders(body, oldSecret, "push", randomUUID(), oldHook))).status,
        401,
        "the old hook is gone",
      );
      const [queued] = await db()
        .select()
        .from(syncJobs)
        .where(eq(syncJobs.sourceId, sourceId))
        .orderBy(desc(syncJobs.createdAt))
        .limit(1);
      assert.equal((await waitForJob(queued!.id)).status, "completed");

      // A rename that keeps the repository keeps the hook.
      await call(sourceRoute.PATCH, "PATCH", `/api/sources/${sourceId}`, {
        token,
        params: { id: sourceId },
        body: { name: "renamed" },
      });
      assert.equal(hosts.hooks.length, 1);
      assert.equal(hosts.hooks[0]!.secret, newSecret);
    } finally {
      process.env.GITHUB_API_URL = fake.base;
      await hosts.close();
    }
  });
  test("symlinks and submodules are indexed by no sync: a pushed symlink, a file turned symlink and a submodule bump leave the incremental index equal to the full one", async () => {
    delete process.env.APP_URL;
    await withOwnRepo({ "a.md": "# a\n", "b.md": "# b\n" }, async ({ repo: own }) => {
      const { sourceId } = await connect();
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

  test("a file read by a connector created afresh (a batch on another worker) is the listed blob, not the moved head's", async () => {
    await withOwnRepo({ "a.md": "# first\n" }, async ({ repo: own }) => {
      const context = { sourceId: null, config: { repo: `${OWNER}/${NAME}`, branch: "main" }, token: TOKEN };
      const listed = [];
      for await (const file of githubConnector.create(context).listFiles()) listed.push(file);
      own.commit({ "a.md": "# pushed after the listing\n" });
      const file = listed.find((f) => f.path === "a.md")!;
      const content = await githubConnector.create(context).getFileContent(file.path, file);
      assert.equal(gitBlobSha(content), file.version);
      assert.equal(content.toString(), "# first\n");
    });
  });

  test("a truncated tree is walked folder by folder, within PROVIDER_MAX_PAGES tree requests and PROVIDER_MAX_ENTRIES entries: past them the listing fails, never cut short", async () => {
    const layout = {
      "README.md": "# r\n",
      "a/one.md": "1\n",
      "a/b/c/d/deep.md": "deep\n",
      "x/two.md": "2\n",
      "x/y/three.md": "3\n",
      "x/y/four.md": "4\n",
    };
    await withOwnRepo(layout, async ({ fake: ownFake }) => {
      const context = { sourceId: null, config: { repo: `${OWNER}/${NAME}`, branch: "main" }, token: TOKEN };
      const list = async () => {
        const paths: string[] = [];
        for await (const file of githubConnector.create(context).listFiles()) paths.push(file.path);
        return paths.sort();
      };
      assert.deepEqual(await list(), Object.keys(layout).sort());
      ownFake.truncateTreesOver(2);
      let from = ownFake.requests.length;
      assert.deepEqual(await list(), Object.keys(layout).sort(), "the walk lists what the whole tree does");
      assert.equal(ownFake.log(from).filter((l) => l.includes("/git/trees/")).length, 8, "one recursive, 7 folders");
      try {
        process.env.PROVIDER_MAX_PAGES = "4";
        from = ownFake.requests.length;
        await assert.rejects(list(), /goes past 4 requests .*PROVIDER_MAX_PAGES/);
        assert.equal(ownFake.log(from).filter((l) => l.includes("/git/trees/")).length, 4, "no request past the cap");
        delete process.env.PROVIDER_MAX_PAGES;
        process.env.PROVIDER_MAX_ENTRIES = "5";
        await assert.rejects(list(), /5 entries.*PROVIDER_MAX_ENTRIES/);
        ownFake.truncateTreesOver(Infinity);
        await assert.rejects(list(), /PROVIDER_MAX_ENTRIES/, "an untruncated tree is capped too");
      } finally {
        delete process.env.PROVIDER_MAX_PAGES;
        delete process.env.PROVIDER_MAX_ENTRIES;
      }
    });
  });

  test("the poll schedule: a source shows its next poll in the API and is not asked before it; two sources on one token share a budget that a 429 stops", async () => {
    delete process.env.APP_URL;
    // Intervals longer than the test, so that the worker's own poll ticks find nothing due.
    process.env.POLL_MIN_INTERVAL = "600";
    process.env.POLL_MAX_INTERVAL = "7200";
    try {
      const first = await connect();
      const second = await connect();
      const polls = () => fake.log(0).filter((l) => l === `GET /repos/${OWNER}/${NAME}/commits/main`).length;
      const row = async (id: string) => (await db().select().from(sources).where(eq(sources.id, id)))[0]!;
      const before = polls();
      // Placed within their first interval, not asked at once.
      await db().update(sources).set({ nextPollAt: null });
      const start = Date.now();
      assert.deepEqual(await pollSources(), { checked: 0, queued: 0 });
      assert.equal(polls(), before);
      const shown = await call(sourceRoute.GET, "GET", `/api/sources/${first.sourceId}`, {
        token,
        params: { id: first.sourceId },
      });
      const nextPollAt = Date.parse(shown.json.source.nextPollAt);
      assert.ok(nextPollAt >= start - 1000 && nextPollAt <= Date.now() + 600_000, shown.json.source.nextPollAt);
      await db()
        .update(sources)
        .set({ nextPollAt: new Date(Date.now() + 3600_000) });
      assert.deepEqual(await pollSources(), { checked: 0, queued: 0 }, "not asked before its time");
      assert.equal(polls(), before);

      assert.deepEqual(await pollDueSources(), { checked: 2, queued: 0 });
      const polled = await row(first.sourceId);
      assert.equal(polled.pollInterval, 900, "nothing changed: the interval grows");
      assert.ok(polled.nextPollAt!.getTime() > Date.now(), "and the next poll is ahead");

      // The provider's 429 stops the token's budget (both sources) until its Retry-After.
      fake.inject(/^GET \/repos\/octo\/demo\/commits\/main$/, 429, {
        headers: { "retry-after": "600" },
        body: JSON.stringify({ message: "API rate limit exceeded" }),
      });
      const limitedFrom = polls();
      assert.equal((await pollDueSources()).checked, 1, "the second source is not asked after the first's 429");
      assert.equal(polls(), limitedFrom + 1);
      const [budget] = await db().select().from(pollBudgets);
      assert.ok(budget!.backoffUntil!.getTime() >= Date.now() + 590_000, String(budget!.backoffUntil));
      assert.equal((await pollDueSources()).checked, 0);
      assert.equal(polls(), limitedFrom + 1, "nothing asked during the back-off");
      for (const id of [first.sourceId, second.sourceId])
        assert.equal((await row(id)).nextPollAt!.getTime(), budget!.backoffUntil!.getTime(), "shown as its next poll");
    } finally {
      delete process.env.POLL_MIN_INTERVAL;
      delete process.env.POLL_MAX_INTERVAL;
    }
  });

  test("the poll schedule forgets a budget no source spent for a day (a deleted credential's), unless it is still backing off", async () => {
    delete process.env.APP_URL;
    const { sourceId } = await connect();
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    await db()
      .insert(pollBudgets)
      .values([
        { key: "credential:deleted", tokens: 1, refilledAt: twoDaysAgo, backoffUntil: null, strikes: 0 },
        {
          key: "credential:backing-off",
          tokens: 0,
          refilledAt: twoDaysAgo,
          backoffUntil: new Date(Date.now() + 3600_000),
          strikes: 3,
        },
      ]);
    await db().update(sources).set({ nextPollAt: null }).where(eq(sources.id, sourceId));
    await pollSources();
    const keys = (await db().select({ key: pollBudgets.key }).from(pollBudgets)).map((b) => b.key).sort();
    assert.ok(!keys.includes("credential:deleted"), keys.join());
    assert.ok(keys.includes("credential:backing-off"), keys.join());
    assert.ok(
      keys.some((k) => !k.startsWith("credential:")),
      `the polled source's own budget stays: ${keys.join()}`,
    );
  });

  test("an empty repository (GitHub answers 409) is an empty index: the sync completes with 0 files, the first push fills it", async () => {
    delete process.env.APP_URL;
    await withOwnRepo(null, async ({ repo: own }) => {
      const { sourceId } = await connect();
      assert.equal((await indexedContent(sourceId)).size, 0);
      own.commit({ "first.md": "# first\n" });
      assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
      const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "schedule"));
      assert.equal((await waitForJob(job!.id)).status, "completed");
      assert.deepEqual([...(await indexedContent(sourceId)).keys()], ["first.md"]);
    });
  });

  test("a renamed default branch sets the source to error with what to do, from a poll and from a sync; a revoked token found by a poll marks it needs_reauth", async () => {
    delete process.env.APP_URL;
    await withOwnRepo({ "a.md": "# a\n" }, async ({ repo: own, fake: ownFake }) => {
      const { sourceId } = await connect();
      own.renameBranch("main", "trunk");
      const status = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.status;
      assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
      assert.equal(await status(), "error", "the poll's failure shows on the source");
      const [polled] = await db().select().from(sources).where(eq(sources.id, sourceId));
      assert.match(
        polled!.statusDetail ?? "",
        /The branch "main" no longer exists in octo\/demo/,
        "and says what to do",
      );

      const job = await syncNow(sourceId, "incremental");
      assert.equal(job.status, "failed");
      assert.match(
        job.errorMessage!,
        /The branch "main" no longer exists in octo\/demo: it was deleted or renamed\. The repository's default branch is now "trunk"\. Set the source's branch \(config\.branch\)/,
      );
      assert.equal(job.attempts, 1, "not retried: nothing changes until someone acts");
      // The job is marked failed first, then the source.
      await waitFor(async () => (await status()) === "error", { what: "the source to show the error" });
      const [synced] = await db().select().from(sources).where(eq(sources.id, sourceId));
      assert.equal(synced!.statusDetail, job.errorMessage);

      ownFake.setToken("ghp_rotatedElsewhere");
      await pollDueSources();
      assert.equal(await status(), "needs_reauth");
    });
  });

  test("a renamed, then transferred repository (GitHub's 301 to its id) is followed: the poll stores the new name, the sync indexes the push; a source without a stored id learns it", async () => {
    delete process.env.APP_URL;
    await withOwnRepo({ "a.md": "# a\n" }, async ({ repo: own, fake: ownFake }) => {
      const { sourceId } = await connect();
      const config = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.config;
      assert.equal((await config()).repoId, 1, "the repository's id is stored at connect");
      const { repoId: _, ...withoutId } = await config();
      void _;
      await db().update(sources).set({ config: withoutId }).where(eq(sources.id, sourceId));
      assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
      assert.equal((await config()).repoId, 1, "a source connected before ids were stored learns its repository's id");
      for (const [next, file] of [
        [`${OWNER}/renamed`, "after-rename.md"],
        ["neworg/renamed", "after-transfer.md"],
      ] as const) {
        ownFake.renameRepo(next);
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
      }
    });
  });

  test("a webhook is matched by the repository's id: a push from the renamed repository syncs and stores the new name; another repository under the followed name is recorded and ignored", async () => {
    await withOwnRepo({ "a.md": "# a\n" }, async ({ repo: own, fake: ownFake }) => {
      const { sourceId } = await connect();
      const secret = ownFake.hooks[0]!.secret;
      const hookId = String(ownFake.hooks[0]!.id);
      const config = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.config;
      const pushFrom = (repository: { full_name: string; id: number }, after: string) =>
        JSON.stringify({ ...JSON.parse(pushPayload(own.head(), after)), repository });

      // Another repository that now has the followed name (the source's moved away).
      const impostor = pushFrom({ full_name: `${OWNER}/${NAME}`, id: 99 }, own.head());
      const ignored = await deliver(impostor, signedHeaders(impostor, secret, "push", randomUUID(), hookId));
      assert.equal(ignored.status, 202);
      assert.equal(ignored.json.queued, 0, "a verified push about another repository is recorded and ignored");

      ownFake.renameRepo("neworg/moved");
      own.commit({ "after-move.md": "# moved\n" });
      const moved = pushFrom({ full_name: "neworg/moved", id: 1 }, own.head());
      const accepted = await deliver(moved, signedHeaders(moved, secret, "push", randomUUID(), hookId));
      assert.equal(accepted.status, 202);
      assert.equal(accepted.json.queued, 1, "the renamed repository is still the source's");
      const [job] = await db()
        .select()
        .from(syncJobs)
        .where(eq(syncJobs.trigger, "webhook"))
        .orderBy(desc(syncJobs.createdAt))
        .limit(1);
      assert.equal((await waitForJob(job!.id)).status, "completed");
      assert.ok((await indexedContent(sourceId)).has("after-move.md"));
      assert.equal((await config()).repo, "neworg/moved");
      const events = await db().select().from(webhookEvents).where(eq(webhookEvents.sourceId, sourceId));
      assert.deepEqual(events.map((e) => e.processed).sort(), [false, true]);
    });
  });

  test("a Git LFS pointer is indexed as what it is: lfs true on the file (a regular file false)", async () => {
    const pointer =
      "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
    await withOwnRepo({ "model.bin.txt": pointer, "README.md": "# r\n" }, async () => {
      const { sourceId } = await connect();
      const res = await call(filesRoute.GET, "GET", `/api/sources/${sourceId}/files`, {
        token,
        params: { id: sourceId },
      });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const byPath = Object.fromEntries(
        (res.json.files as { path: string; lfs: boolean }[]).map((f) => [f.path, f.lfs]),
      );
      assert.deepEqual(byPath, { "README.md": false, "model.bin.txt": true });
    });
  });
});
