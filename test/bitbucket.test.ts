import assert from "node:assert/strict";
import { createHash, createHmac, randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { desc, eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as webhookRoute from "@/app/api/webhooks/bitbucket/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { gitBlobSha } from "@/lib/connectors/git/archive";
import { bitbucketConnector } from "@/lib/connectors/git/bitbucket";
import { files, sources, syncJobs, webhookEvents } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { GitRepo } from "./fakes/git-repo";
import { json, startHttpFake } from "./fakes/http-fake";
import { startBitbucketFake } from "./fakes/bitbucket-fake";
import {
  call,
  closeAll,
  db,
  deliveredSince,
  deliveryCount,
  operatorToken,
  resetDb,
  waitFor,
  waitForJob,
  pollDueSources,
} from "./helpers";

const TOKEN = "bbat-fakeTokenForTests";
const FULL_NAME = "team/demo";

let repo: GitRepo;
let fake: Awaited<ReturnType<typeof startBitbucketFake>>;
let worker: RunningWorker;
let token: string;

async function assertIndexExact(sourceId: string) {
  const rows = await db().select().from(files).where(eq(files.sourceId, sourceId));
  const expected = repo
    .tree(repo.head())
    .map((e) => [e.path, createHash("sha256").update(repo.blob(e.sha)!).digest("hex")]);
  assert.deepEqual(rows.map((r) => [r.path, r.sha]).sort(), expected.sort());
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

function push(secret: string, header = "x-hub-signature", delivery = randomUUID(), branch = "main") {
  const body = JSON.stringify({
    repository: { full_name: FULL_NAME, type: "repository" },
    push: {
      changes: [
        {
          new: { type: "branch", name: branch, target: { hash: repo.head() } },
          old: { type: "branch", name: branch },
          truncated: false,
          commits: [],
        },
      ],
    },
  });
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-event-key": "repo:push",
      "x-request-uuid": delivery,
      "x-hook-uuid": (fake.hooks.at(-1)?.uuid ?? "{none}").replace(/[{}]/g, ""),
      [header]: signature,
    },
  };
}

async function deliver(p: { body: string; headers: Record<string, string> }) {
  const response = await webhookRoute.POST(
    new Request("http://localhost/api/webhooks/bitbucket", { method: "POST", headers: p.headers, body: p.body }),
  );
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

const log = (from: number) => fake.log(from).map((l) => l.replace(/[0-9a-f]{40}/g, "<sha>"));
const A = `/2.0/repositories/${FULL_NAME}`;

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

const CONNECTOR = bitbucketConnector;
const CONNECTOR_CONFIG = () => ({ repo: FULL_NAME, branch: "main" });

/** Runs `fn` against a repository and fake of its own (the shared repository stays as it is). */
async function withOwnRepo(initial: Record<string, string>, fn: (own: GitRepo) => Promise<void>) {
  const shared = fake;
  const own = new GitRepo();
  own.commit(initial, {}, "initial");
  fake = await startBitbucketFake({ fullName: FULL_NAME, token: TOKEN, repo: own });
  process.env.BITBUCKET_API_URL = `${fake.base}/2.0`;
  process.env.BITBUCKET_URL = fake.base;
  try {
    await fn(own);
  } finally {
    await fake.close();
    fake = shared;
    process.env.BITBUCKET_API_URL = `${fake.base}/2.0`;
    process.env.BITBUCKET_URL = fake.base;
  }
}

describe("Bitbucket sources", () => {
  before(async () => {
    repo = new GitRepo();
    repo.commit(
      { "README.md": "# Demo\n", "src/a.ts": "export const a = 1;\n", "src/b.py": "b = 2\n", "docs/c.md": "c\n" },
      {},
      "initial",
    );
    // Pages of 100 diffstat entries: a 400-file push takes several pages.
    fake = await startBitbucketFake({ fullName: FULL_NAME, token: TOKEN, repo, pagelen: 100 });
    process.env.BITBUCKET_API_URL = `${fake.base}/2.0`;
    process.env.BITBUCKET_URL = fake.base;
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

  test("a diffstat next link off the API host is not followed: the token never leaves Bitbucket's host", async () => {
    const other = await startHttpFake((_req, res) => json(res, 200, { values: [] }));
    const saved = process.env.ALLOWED_PRIVATE_HOSTS;
    // The other host is reachable, so only the rule about next links can keep the token from it.
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(other.base).host;
    fake.inject(/\/diffstat\//, 200, { body: JSON.stringify({ values: [], next: `${other.base}/2.0/steal?page=2` }) });
    try {
      const connector = bitbucketConnector.create({
        sourceId: null,
        config: { repo: FULL_NAME, branch: "main" },
        token: TOKEN,
      });
      await assert.rejects(connector.getChanges!("0".repeat(40)), /off its API host/);
      assert.equal(other.requests.length, 0);
    } finally {
      process.env.ALLOWED_PRIVATE_HOSTS = saved;
      fake.clearInjections();
      await other.close();
    }
  });

  test("POST /api/sources refuses . and .. segments in repo (400) and asks Bitbucket nothing", async () => {
    const from = fake.requests.length;
    for (const repoName of ["team/../../user", "team/./demo", "../team/demo"]) {
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "bitbucket", name: "dots", config: { repo: repoName, token: TOKEN } },
      });
      assert.equal(res.status, 400, repoName);
      assert.match(JSON.stringify(res.json), /must not contain \. or \.\. segments/);
    }
    assert.equal(fake.requests.length, from);
  });

  async function connect() {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "bitbucket", name: FULL_NAME, config: { token: TOKEN } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    return res.json.source as { id: string };
  }

  test("connect: full sync exact from one archive; signed pushes with a rename, a delete, a force-push and 400 files", async () => {
    let from = fake.requests.length;
    const source = await connect();
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${A}`,
      `POST ${A}/hooks`,
      `GET ${A}/refs/branches/main`,
      `GET /${FULL_NAME}/get/<sha>.tar.gz`,
    ]);
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
    from = fake.requests.length;
    await deliver(push(secret, "x-hub-signature-256"));
    await cursorIsHead(source.id);
    await assertIndexExact(source.id);
    // A two-dot diffstat from the lost commit: the dropped edit and delete are undone, the rename
    // goes back, and only the files that differ are read.
    assert.deepEqual(log(from), [
      `GET ${A}/refs/branches/main`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET ${A}/src/<sha>/docs/c.md`,
      `GET ${A}/src/<sha>/src/a.ts`,
      `GET ${A}/src/<sha>/src/b.py`,
      `GET ${A}/src/<sha>/src/forced.rs`,
    ]);

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

  test("a wrong or missing X-Hub-Signature is a 401, whatever repository the body names; delete removes the hook", async () => {
    const source = await connect();
    assert.equal((await deliver(push("wrong"))).status, 401);
    const unsigned = push("x");
    delete (unsigned.headers as Record<string, string>)["x-hub-signature"];
    assert.equal((await deliver(unsigned)).status, 401);
    const other = push("x");
    other.body = other.body.replace(FULL_NAME, "someone/else");
    assert.equal((await deliver(other)).status, 401);
    assert.equal(
      (await deliver({ ...push("x"), headers: { ...push("x").headers, "x-hook-uuid": "0000-999" } })).status,
      401,
    );
    assert.equal((await db().select().from(webhookEvents)).length, 0);
    assert.equal(
      (await call(sourceRoute.DELETE, "DELETE", `/api/sources/${source.id}`, { token, params: { id: source.id } }))
        .status,
      204,
    );
    assert.equal(fake.hooks.length, 0);
  });
  test("401, 403 and 404 at connect are 400s that say what to fix; nothing is stored", async () => {
    const connectWith = (config: Record<string, unknown>, name = FULL_NAME) =>
      call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "bitbucket", name, config: { token: TOKEN, ...config } },
      });
    const bad = await connectWith({ token: "bbat-wrongTokenForTests" });
    assert.equal(bad.status, 400);
    assert.match(bad.json.detail, /Bitbucket rejected the token \(401\).*new token/);
    assert.equal(bad.json.errors[0].path, "config.token");
    assert.ok(!JSON.stringify(bad.json).includes("bbat-wrongTokenForTests"));
    fake.forbid(new RegExp(`^GET ${A}$`));
    const forbidden = await connectWith({});
    assert.equal(forbidden.status, 400);
    assert.match(
      forbidden.json.detail,
      /Bitbucket refused access to team\/demo \(403\).*lacks permission.*repository read/,
    );
    const missing = await connectWith({}, "team/nope");
    assert.equal(missing.status, 400);
    assert.match(missing.json.detail, /team\/nope was not found \(404\)/);
    assert.equal(missing.json.errors[0].path, "config.repo");
    const branch = await connectWith({ branch: "nope" });
    assert.equal(branch.status, 400);
    assert.match(branch.json.detail, /branch "nope" does not exist/);
    assert.equal((await db().select().from(sources)).length, 0);
    assert.equal(fake.hooks.length, 0, "no hook was registered");
  });

  test("Bitbucket's 429s (no Retry-After: backed off) on the archive, the diffstat and a file, and a burst of 5xx are waited out and retried; the index is exact", async () => {
    fake.throttle(/\/get\/[0-9a-f]{40}\.tar\.gz/);
    let from = fake.requests.length;
    const source = await connect();
    await assertIndexExact(source.id);
    assert.deepEqual(log(from), [
      `GET ${A}`,
      `POST ${A}/hooks`,
      `GET ${A}/refs/branches/main`,
      `GET /${FULL_NAME}/get/<sha>.tar.gz`,
      `GET /${FULL_NAME}/get/<sha>.tar.gz`,
    ]);

    repo.commit({
      "src/throttled.ts": "export const throttled = true;\n",
      "src/second.ts": "export const second = 2;\n",
    });
    const seen = await deliveryCount(source.id);
    fake.throttle(/\/diffstat\//);
    // Three 500s: two are retried inline, the third fails the attempt, which pg-boss retries.
    fake.inject(/\/diffstat\//, 500, {
      times: 3,
      body: JSON.stringify({ type: "error", error: { message: "Something went wrong" } }),
    });
    fake.throttle(/\/src\/[0-9a-f]{40}\//);
    fake.inject(/\/src\/[0-9a-f]{40}\//, 502, {
      times: 2,
      headers: { "content-type": "text/html" },
      body: "<html><body>502 Bad Gateway</body></html>",
    });
    from = fake.requests.length;
    assert.equal((await deliver(push(fake.hooks[0]!.secret))).status, 202);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "webhook"));
    await waitFor(
      async () =>
        ((await db().select().from(syncJobs).where(eq(syncJobs.id, job!.id)))[0]?.detail ?? "").startsWith(
          "waiting for rate limit until ",
        ),
      {
        what: "the job to show the rate-limit wait",
        intervalMs: 20,
      },
    );
    const done = await waitForJob(job!.id);
    assert.equal(done.status, "completed", done.errorMessage ?? "");
    await assertIndexExact(source.id);
    assert.deepEqual(
      await deliveredSince(source.id, seen),
      ["upsert src/second.ts", "upsert src/throttled.ts"],
      "each change delivered once",
    );
    assert.equal(log(from).filter((l) => l.includes("/diffstat/")).length, 5, "one 429, three 500s, then the answer");
  });

  test("webhook bad input: missing or wrong signature 401, malformed 400, wrong type 415, too large 413, other repository or branch recorded and ignored", async () => {
    await connect();
    const secret = fake.hooks[0]!.secret;
    const jobsBefore = (await db().select().from(syncJobs)).length;
    const ok = push(secret);

    const { "x-hub-signature": _, ...unsigned } = ok.headers;
    void _;
    assert.equal((await deliver({ body: ok.body, headers: unsigned })).status, 401);
    assert.equal((await deliver(push("not the secret"))).status, 401);
    assert.equal((await deliver(push("not the secret", "x-hub-signature-256"))).status, 401);
    assert.equal(
      (await deliver({ body: ok.body.replace('"main"', '"mainx"'), headers: ok.headers })).status,
      401,
      "signed over the raw body",
    );
    assert.equal(
      (
        await deliver({
          body: ok.body,
          headers: { ...ok.headers, "x-hub-signature": ok.headers["x-hub-signature"]!.replace("sha256=", "sha1=") },
        })
      ).status,
      401,
    );

    const other = push("whatever");
    other.body = other.body.replace(FULL_NAME, "someone/else");
    assert.equal((await deliver(other)).status, 401);

    const malformed = {
      body: "{not json",
      headers: {
        ...ok.headers,
        "x-hub-signature": `sha256=${createHmac("sha256", secret).update("{not json").digest("hex")}`,
      },
    };
    assert.equal((await deliver(malformed)).status, 400);
    assert.equal(
      (
        await deliver({
          body: ok.body,
          headers: { ...ok.headers, "content-type": "application/x-www-form-urlencoded" },
        })
      ).status,
      415,
    );
    const huge = " ".repeat(25 * 1024 * 1024 + 1);
    assert.equal((await deliver({ body: huge, headers: ok.headers })).status, 413);
    assert.equal(
      (await db().select().from(webhookEvents)).length,
      0,
      "nothing recorded for rejected or unknown deliveries",
    );

    const branch = await deliver(push(secret, "x-hub-signature", randomUUID(), "feature"));
    assert.equal(branch.status, 202);
    assert.equal(branch.json.queued, 0);
    const elsewhere = push(secret);
    elsewhere.body = elsewhere.body.replace(FULL_NAME, "someone/else");
    elsewhere.headers["x-hub-signature"] =
      `sha256=${createHmac("sha256", secret).update(elsewhere.body).digest("hex")}`;
    const otherRepository = await deliver(elsewhere);
    assert.equal(otherRepository.status, 202);
    assert.equal(otherRepository.json.queued, 0, "a verified push about another repository is recorded and ignored");
    const events = await db().select().from(webhookEvents);
    assert.deepEqual(
      events.map((e) => `${e.eventType} ${e.processed}`),
      ["repo:push false", "repo:push false"],
    );
    assert.equal((await db().select().from(syncJobs)).length, jobsBefore, "nothing queued");
  });

  test("the poll goes on past a source that fails in any way (here a token that cannot be opened)", async () => {
    delete process.env.APP_URL;
    const source = await connect();
    const [row] = await db().select().from(sources).where(eq(sources.id, source.id));
    const { id: _id, ...copy } = row!;
    void _id;
    // Listed first, so that the good source is polled after it.
    await db()
      .insert(sources)
      .values({ ...copy, name: "broken", tokenSecret: "not a sealed value", createdAt: new Date(0) });
    repo.commit({ "after-broken.md": "still polled\n" });
    const result = await pollDueSources();
    assert.deepEqual(result, { checked: 2, queued: 1 });
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "schedule"));
    assert.equal(job!.sourceId, source.id);
    assert.equal((await waitForJob(job!.id)).status, "completed");
  });

  test("without APP_URL the repository is polled: one branch lookup, a sync only when the head moved; delete removes the hook", async () => {
    delete process.env.APP_URL;
    const source = await connect();
    assert.equal((source as { webhookId?: string | null }).webhookId, null);
    assert.equal(fake.hooks.length, 0);
    let from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    // Bitbucket Cloud documents no conditional requests for refs: one plain lookup.
    assert.deepEqual(fake.log(from), [`GET ${A}/refs/branches/main`]);
    const seen = await deliveryCount(source.id);
    repo.commit({ "polled.md": "found by polling\n" });
    from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.trigger, "schedule"));
    assert.equal((await waitForJob(job!.id)).status, "completed");
    assert.deepEqual(await deliveredSince(source.id, seen), ["upsert polled.md"]);
    assert.deepEqual(log(from), [
      `GET ${A}/refs/branches/main`,
      `GET ${A}/refs/branches/main`,
      `GET ${A}/diffstat/<sha>..<sha>`,
      `GET ${A}/src/<sha>/polled.md`,
    ]);
    from = fake.requests.length;
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    assert.equal(fake.requests.length - from, 1);

    process.env.APP_URL = "https://connector.example.test";
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

  test("a renamed, then transferred repository is followed by its UUID: the poll stores the new name, the sync indexes the push; a source without a stored UUID learns it", async () => {
    delete process.env.APP_URL;
    await withOwnRepo({ "a.md": "# a\n" }, async (own) => {
      const { id: sourceId } = await connect();
      const config = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.config;
      assert.equal((await config()).repoId, fake.uuid, "the repository's UUID is stored at connect");
      const { repoId: _, ...withoutId } = await config();
      void _;
      await db().update(sources).set({ config: withoutId }).where(eq(sources.id, sourceId));
      assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
      assert.equal((await config()).repoId, fake.uuid, "a source connected before ids were stored learns its UUID");

      for (const [next, file] of [
        ["team/renamed", "after-rename.md"],
        ["otherteam/renamed", "after-transfer.md"],
      ] as const) {
        fake.renameRepo(next);
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
      // A full sync reads the archive under the repository's new name.
      assert.equal((await syncNow(sourceId, "full")).status, "completed");
    });
  });

  test("a webhook is matched by the repository's UUID: a push from the moved repository syncs and stores its name; another repository under the followed name is recorded and ignored", async () => {
    await withOwnRepo({ "a.md": "# a\n" }, async (own) => {
      const { id: sourceId } = await connect();
      const secret = fake.hooks[0]!.secret;
      const config = async () => (await db().select().from(sources).where(eq(sources.id, sourceId)))[0]!.config;
      const pushFrom = (repository: { full_name: string; uuid: string }) => {
        const p = push(secret);
        const body = JSON.stringify({ ...JSON.parse(p.body), repository: { ...repository, type: "repository" } });
        const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
        return { body, headers: { ...p.headers, "x-hub-signature": signature } };
      };
      const ignored = await deliver(pushFrom({ full_name: FULL_NAME, uuid: "{00000000-0000-4000-8000-000000000099}" }));
      assert.equal(ignored.status, 202);
      assert.equal(ignored.json.queued, 0, "a verified push about another repository is recorded and ignored");

      fake.renameRepo("otherteam/moved");
      own.commit({ "after-move.md": "# moved\n" });
      const accepted = await deliver(pushFrom({ full_name: "otherteam/moved", uuid: fake.uuid }));
      assert.equal(accepted.status, 202);
      assert.equal(accepted.json.queued, 1, "the moved repository is still the source's");
      const [job] = await db()
        .select()
        .from(syncJobs)
        .where(eq(syncJobs.trigger, "webhook"))
        .orderBy(desc(syncJobs.createdAt))
        .limit(1);
      assert.equal((await waitForJob(job!.id)).status, "completed");
      assert.ok((await indexedContent(sourceId)).has("after-move.md"));
      assert.equal((await config()).repo, "otherteam/moved");
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
});
