import assert from "node:assert/strict";
import { createHash, createHmac, randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as webhookRoute from "@/app/api/webhooks/bitbucket/route";
import { files, sources, syncJobs, webhookEvents } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { GitRepo } from "./fakes/git-repo";
import { startBitbucketFake } from "./fakes/bitbucket-fake";
import { call, closeAll, db, operatorToken, resetDb, waitFor } from "./helpers";

const TOKEN = "bbat-fakeTokenForTests";
const FULL_NAME = "team/demo";

let repo: GitRepo;
let fake: Awaited<ReturnType<typeof startBitbucketFake>>;
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
}

async function cursorIsHead(sourceId: string) {
  await waitFor(async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]?.cursor === repo.head(), { what: "the source to reach the head" });
  await waitFor(async () => (await db().select().from(syncJobs).where(eq(syncJobs.status, "running"))).length === 0, { what: "jobs to settle" });
}

function push(secret: string, header = "x-hub-signature", delivery = randomUUID()) {
  const body = JSON.stringify({
    repository: { full_name: FULL_NAME, type: "repository" },
    push: { changes: [{ new: { type: "branch", name: "main", target: { hash: repo.head() } }, old: { type: "branch", name: "main" }, truncated: false, commits: [] }] },
  });
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return { body, headers: { "content-type": "application/json", "x-event-key": "repo:push", "x-request-uuid": delivery, "x-hook-uuid": "{hook}", [header]: signature } };
}

async function deliver(p: { body: string; headers: Record<string, string> }) {
  const response = await webhookRoute.POST(new Request("http://localhost/api/webhooks/bitbucket", { method: "POST", headers: p.headers, body: p.body }));
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

const log = (from: number) => fake.log(from).map((l) => l.replace(/[0-9a-f]{40}/g, "<sha>"));
const A = `/2.0/repositories/${FULL_NAME}`;

describe("Bitbucket sources", () => {
  before(async () => {
    repo = new GitRepo();
    repo.commit({ "README.md": "# Demo\n", "src/a.ts": "export const a = 1;\n", "src/b.py": "b = 2\n", "docs/c.md": "c\n" }, {}, "initial");
    // Pages of 100 diffstat entries: a 400-file push takes several pages.
    fake = await startBitbucketFake({ fullName: FULL_NAME, token: TOKEN, repo, pagelen: 100 });
    process.env.BITBUCKET_API_URL = `${fake.base}/2.0`;
    process.env.BITBUCKET_URL = fake.base;
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
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", { token, body: { type: "bitbucket", name: FULL_NAME, config: { token: TOKEN } } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    return res.json.source as { id: string };
  }

  test("connect: full sync exact from one archive; signed pushes with a rename, a delete, a force-push and 400 files", async () => {
    let from = fake.requests.length;
    const source = await connect();
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [`GET ${A}`, `POST ${A}/hooks`, `GET ${A}/refs/branches/main`, `GET /${FULL_NAME}/get/<sha>.tar.gz`]);
    assert.deepEqual(fake.hooks[0]!.events, ["repo:push"]);
    const secret = fake.hooks[0]!.secret;

    const before = repo.head();
    repo.commit({ "src/a.ts": "export const a = 2;\n", "docs/c.md": null }, { "src/b.py": "lib/b.py" });
    from = fake.requests.length;
    const delivery = randomUUID();
    assert.equal((await deliver(push(secret, "x-hub-signature", delivery))).status, 202);
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${A}/refs/branches/main`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET ${A}/src/<sha>/lib/b.py`,
      `GET ${A}/src/<sha>/src/a.ts`,
    ]);
    assert.equal((await deliver(push(secret, "x-hub-signature", delivery))).json.duplicate, true);

    const lost = repo.head();
    repo.resetTo(before);
    repo.commit({ "src/forced.rs": "fn main() {}\n" });
    assert.notEqual(lost, repo.head());
    await deliver(push(secret, "x-hub-signature-256"));
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);

    const many: Record<string, string> = {};
    for (let i = 0; i < 400; i++) many[`gen/f${i}.ts`] = `export const n = ${i};\n`;
    repo.commit(many);
    from = fake.requests.length;
    await deliver(push(secret));
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${A}/refs/branches/main`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET /${FULL_NAME}/get/<sha>.tar.gz`,
    ]);
  });

  test("a wrong or missing X-Hub-Signature is a 401; an unknown repository 202; delete removes the hook", async () => {
    const source = await connect();
    assert.equal((await deliver(push("wrong"))).status, 401);
    const unsigned = push("x");
    delete (unsigned.headers as Record<string, string>)["x-hub-signature"];
    assert.equal((await deliver(unsigned)).status, 401);
    const other = push("x");
    other.body = other.body.replace(FULL_NAME, "someone/else");
    assert.equal((await deliver(other)).status, 202);
    assert.equal((await db().select().from(webhookEvents)).length, 0);
    assert.equal((await call(sourceRoute.DELETE, "DELETE", `/api/sources/${source.id}`, { token, params: { id: source.id } })).status, 204);
    assert.equal(fake.hooks.length, 0);
  });
});
