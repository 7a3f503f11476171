import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as webhookRoute from "@/app/api/webhooks/gitlab/route";
import { files, pipelineDeliveries, sources, syncJobs, webhookEvents } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { GitRepo } from "./fakes/git-repo";
import { startGitLabFake } from "./fakes/gitlab-fake";
import { call, closeAll, db, operatorToken, resetDb, waitFor } from "./helpers";

const TOKEN = "glpat-fakeTokenForTests01234";
const PROJECT = "group/sub/demo";

let repo: GitRepo;
let fake: Awaited<ReturnType<typeof startGitLabFake>>;
let worker: RunningWorker;
let token: string;

async function waitForJob(jobId: string) {
  return waitFor(
    async () => {
      const [job] = await db().select().from(syncJobs).where(eq(syncJobs.id, jobId));
      return job && ["completed", "failed", "cancelled"].includes(job.status) ? job : null;
    },
    { what: `job ${jobId} to finish` },
  );
}

async function assertIndexExact(sourceId: string) {
  const rows = await db().select().from(files).where(eq(files.sourceId, sourceId));
  const expected = repo.tree(repo.head()).map((e) => [e.path, createHash("sha256").update(repo.blob(e.sha)!).digest("hex")]);
  assert.deepEqual(rows.map((r) => [r.path, r.sha]).sort(), expected.sort());
  const tree = new Map(repo.tree(repo.head()).map((e) => [e.path, e.sha]));
  for (const row of rows) assert.equal(row.providerVersion, tree.get(row.path), `blob SHA of ${row.path}`);
}

async function cursorIsHead(sourceId: string) {
  await waitFor(async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]?.cursor === repo.head(), { what: "the source to reach the head" });
  await waitFor(async () => (await db().select().from(syncJobs).where(eq(syncJobs.status, "running"))).length === 0, { what: "jobs to settle" });
}

async function deliver(body: string, headers: Record<string, string>) {
  const response = await webhookRoute.POST(new Request("http://localhost/api/webhooks/gitlab", { method: "POST", headers, body }));
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

function push(secret: string, before: string, after: string, key = randomUUID()) {
  const body = JSON.stringify({
    object_kind: "push",
    ref: "refs/heads/main",
    before,
    after,
    total_commits_count: 1,
    commits: [],
    project: { path_with_namespace: PROJECT, web_url: `${fake.base}/${PROJECT}` },
  });
  return { body, headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook", "x-gitlab-token": secret, "idempotency-key": key, "x-gitlab-event-uuid": randomUUID() } };
}

const log = (from: number) => fake.log(from).map((l) => l.replace(/[0-9a-f]{40}/g, "<sha>"));
const P = `/api/v4/projects/${PROJECT}`;

describe("GitLab sources", () => {
  before(async () => {
    repo = new GitRepo();
    repo.commit({ "README.md": "# Demo\n", "src/a.ts": "export const a = 1;\n", "src/b.py": "b = 2\n", "docs/c.md": "c\n" }, {}, "initial");
    fake = await startGitLabFake({ project: PROJECT, token: TOKEN, repo });
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(fake.base).host;
    process.env.APP_URL = "https://connector.example.test";
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
    fake.hooks.length = 0;
  });

  async function connect() {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", { token, body: { type: "gitlab", name: PROJECT, config: { host: fake.base, token: TOKEN } } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    return res.json.source as { id: string; config: Record<string, unknown>; webhookId: string };
  }

  test("connect through a self-managed host: full sync exact from one archive, hook with a secret token", async () => {
    const from = fake.requests.length;
    const source = await connect();
    assert.deepEqual(source.config, { repo: PROJECT, host: fake.base, branch: "main" });
    assert.equal(fake.hooks.length, 1);
    assert.equal(fake.hooks[0]!.url, "https://connector.example.test/api/webhooks/gitlab");
    assert.equal(fake.hooks[0]!.pushEvents, true);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [`GET ${P}`, `POST ${P}/hooks`, `GET ${P}/repository/branches/main`, `GET ${P}/repository/archive.tar.gz`]);
  });

  test("a host the user typed that resolves to loopback is refused unless ALLOWED_PRIVATE_HOSTS lists it", async () => {
    const saved = process.env.ALLOWED_PRIVATE_HOSTS;
    delete process.env.ALLOWED_PRIVATE_HOSTS;
    try {
      const from = fake.requests.length;
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", { token, body: { type: "gitlab", name: PROJECT, config: { host: fake.base, token: TOKEN } } });
      assert.equal(res.status, 400);
      assert.match(res.json.detail, /loopback, link-local or private address.*ALLOWED_PRIVATE_HOSTS/);
      assert.equal(fake.requests.length, from, "nothing was sent");
      const scheme = await call(sourcesRoute.POST, "POST", "/api/sources", { token, body: { type: "gitlab", name: PROJECT, config: { host: "ftp://gitlab.example.com", token: TOKEN } } });
      assert.equal(scheme.status, 400);
    } finally {
      process.env.ALLOWED_PRIVATE_HOSTS = saved;
    }
  });

  test("signed pushes: edit, add, rename, delete; a force-push; 400 files from one archive; redelivery deduplicated", async () => {
    const source = await connect();
    const secret = fake.hooks[0]!.token;
    let before = repo.head();
    repo.commit({ "src/a.ts": "export const a = 2;\n", "src/new.go": "package main\n", "docs/c.md": null }, { "src/b.py": "lib/b.py" });
    let from = fake.requests.length;
    const key = randomUUID();
    let p = push(secret, before, repo.head(), key);
    assert.equal((await deliver(p.body, p.headers)).status, 202);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${P}/repository/branches/main`,
      `GET ${P}/repository/compare`,
      `GET ${P}/repository/files/lib/b.py`,
      `GET ${P}/repository/files/src/a.ts`,
      `GET ${P}/repository/files/src/new.go`,
    ]);
    const redelivered = await deliver(p.body, { ...p.headers, "x-gitlab-event-uuid": randomUUID() });
    assert.equal(redelivered.json.duplicate, true, "Idempotency-Key identifies the delivery");

    // Force-push: drop the last commit, write another.
    const lost = repo.head();
    repo.resetTo(before);
    repo.commit({ "src/forced.rs": "fn main() {}\n" });
    p = push(secret, lost, repo.head());
    await deliver(p.body, p.headers);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);

    const many: Record<string, string> = {};
    for (let i = 0; i < 400; i++) many[`gen/f${i}.ts`] = `export const n = ${i};\n`;
    before = repo.head();
    repo.commit(many);
    from = fake.requests.length;
    p = push(secret, before, repo.head());
    await deliver(p.body, p.headers);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [`GET ${P}/repository/branches/main`, `GET ${P}/repository/compare`, `GET ${P}/repository/archive.tar.gz`]);
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
    fake.inject(/repository\/compare/, 429, { headers: { "ratelimit-remaining": "0", "ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 1) }, body: JSON.stringify({ message: "Retry later" }) });
    const ok = push(fake.hooks[0]!.token, before, repo.head());
    await deliver(ok.body, ok.headers);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"));
    await waitFor(async () => ((await db().select().from(syncJobs).where(eq(syncJobs.id, job!.id)))[0]?.detail ?? "").startsWith("waiting for rate limit until"), { what: "rate-limit detail", intervalMs: 20 });
    assert.equal((await waitForJob(job!.id)).status, "completed");
    await assertIndexExact(source.id);
    const deliveries = await db().select().from(pipelineDeliveries).where(eq(pipelineDeliveries.path, "src/limited.ts"));
    assert.equal(deliveries.length, 1);

    assert.equal((await call(sourceRoute.DELETE, "DELETE", `/api/sources/${source.id}`, { token, params: { id: source.id } })).status, 204);
    assert.equal(fake.hooks.length, 0, "the project hook is removed with the source");
  });
});
