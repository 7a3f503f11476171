import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { and, eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as gdriveWebhook from "@/app/api/webhooks/gdrive/route";
import * as browseRoute from "@/app/api/providers/[type]/browse/route";
import * as retryRoute from "@/app/api/jobs/[id]/retry-failed/route";
import { renewDriveChannels } from "@/lib/sources/drive-channels";
import { driveChannels, files, sources, syncJobBatches, syncJobFailures, syncJobs } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { DOC, FORM, SHEET, SLIDES, startDriveFake, type DriveFake } from "./fakes/drive-server";
import {
  call,
  closeAll,
  db,
  deliveredSince,
  deliveryCount,
  indexed,
  operatorToken,
  resetDb,
  waitFor,
  waitForJob,
  withEnv,
  pollDueSources,
} from "./helpers";

let fake: DriveFake;
let worker: RunningWorker;
let token: string;
const md5 = (s: string) => createHash("md5").update(s).digest("hex");

async function connect(config: Record<string, unknown>) {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "gdrive", name: "drive", config: { token: fake.token, ...config } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return res.json.source.id as string;
}
async function incremental(sourceId: string) {
  const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
    token,
    params: { id: sourceId },
    body: { type: "incremental" },
  });
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return job;
}
function post(headers: Headers) {
  return gdriveWebhook.POST(new Request("http://localhost/api/webhooks/gdrive", { method: "POST", headers }));
}

/** Projects/ (the source) with nested folders, native files, media, trash; plus a folder outside. */
function seed() {
  const projects = fake.folder("Projects");
  const src = fake.folder("src", projects);
  const deep = fake.folder("deep", src);
  const docs = fake.folder("docs", projects);
  const outside = fake.folder("Elsewhere");
  const ids = {
    projects,
    src,
    deep,
    docs,
    outside,
    readme: fake.file("README.md", projects, "# Projects\n"),
    app: fake.file("app.ts", src, "export const app = 1;\n"),
    util: fake.file("util.py", deep, "def util():\n    return 1\n"),
    plan: fake.file("Plan", docs, "# Plan\n\nShip it.\n", DOC),
    budget: fake.file("Budget", docs, "item,cost\ntea,3\n", SHEET),
    deck: fake.file("Deck", docs, "Slide one\nSlide two\n", SLIDES),
    form: fake.file("Survey", docs, "", FORM),
    photo: fake.file("photo.jpg", docs, Buffer.from([0xff, 0xd8, 0xff, 0, 1]), "image/jpeg"),
    trashed: fake.file("old.txt", projects, "old\n"),
    other: fake.file("other.md", outside, "# outside\n"),
    moveIn: fake.folder("incoming", outside),
  };
  fake.file("inside-incoming.md", ids.moveIn, "# incoming\n");
  fake.trash(ids.trashed);
  return ids;
}
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
/** The index as path → content hash. */
async function contents(sourceId: string): Promise<Record<string, string>> {
  const rows = await db().select().from(files).where(eq(files.sourceId, sourceId));
  return Object.fromEntries(rows.map((r) => [r.path, r.sha!]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
}
async function full(sourceId: string) {
  const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
    token,
    params: { id: sourceId },
    body: { type: "full" },
  });
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return job;
}
const SEEDED = ["README.md", "docs/Budget.csv", "docs/Deck.txt", "docs/Plan.md", "src/app.ts", "src/deep/util.py"];

describe("Google Drive sources", () => {
  before(async () => {
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await fake?.close();
    await closeAll();
  });
  beforeEach(async () => {
    await fake?.close();
    fake = await startDriveFake({ maxPageSize: 4 });
    Object.assign(process.env, fake.env);
    delete process.env.APP_URL;
    await resetDb();
    token = await operatorToken();
  });

  test("a full sync of a folder is exact: tree paths, exports of Docs/Sheets/Slides, md5 or version, trash and media left out", async () => {
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    const rows = await indexed(sourceId);
    assert.deepEqual([...rows.keys()].sort(), SEEDED);
    assert.equal(rows.get("src/app.ts")!.providerVersion, md5("export const app = 1;\n"));
    assert.equal(rows.get("src/app.ts")!.providerId, ids.app);
    assert.match(rows.get("docs/Plan.md")!.providerVersion!, /^v\d+$/);
    assert.equal(rows.get("docs/Budget.csv")!.sha, createHash("sha256").update("item,cost\ntea,3\n").digest("hex"));
    const listing = fake.requests.filter((r) => r.route === "files" && r.method === "GET");
    assert.ok(
      listing.every(
        (r) => r.query.get("pageSize") === "1000" && /^nextPageToken,files\(/.test(r.query.get("fields") ?? ""),
      ),
      "pageSize 1000 and a narrow field mask",
    );
    assert.ok(listing.every((r) => /trashed = false/.test(r.query.get("q") ?? "")));
    assert.ok(
      listing.some((r) => r.query.get("pageToken")),
      "paged",
    );
    assert.equal(fake.count(/\/export$/), 3);
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.equal(source!.config.token, undefined, "the token is not kept in config");
    assert.ok(source!.tokenSecret && !source!.tokenSecret.includes(fake.token), "the token is stored sealed");
  });

  test("a sync fanned out to process-file-batch jobs reads each file with one request (the listing's id and type travel with the batch)", async () => {
    const projects = fake.folder("Big");
    for (let i = 0; i < 260; i++) fake.file(`f${i}.md`, projects, `# file ${i}\n`);
    fake.file("Notes", projects, "# Notes\n", DOC);
    const before = fake.count();
    // Batches of 100 files, so that these 261 make several.
    const sourceId = await withEnv({ SYNC_BATCH_FILES: "100" }, () => connect({ folderId: projects }));
    assert.equal((await indexed(sourceId)).size, 261);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
    const batches = await db().select().from(syncJobBatches).where(eq(syncJobBatches.jobId, job!.id));
    assert.ok(batches.length >= 3, "the sync was fanned out");
    const reads = fake.count(/^files\/[^/]+(\/export)?$/);
    // 261 reads, plus the folder's own metadata looked up at connect and at the sync's start.
    assert.ok(reads <= 261 + 2, `one download or export per file, no lookups by path (${reads} file requests)`);
    // Besides the reads: listing pages (this fake pages by 4), the start token, the folder.
    assert.ok(
      fake.count() - before - fake.count("files") - reads < 10,
      `other requests: ${fake.count() - before - fake.count("files") - reads}`,
    );
  });

  test("POST /api/providers/gdrive/browse escapes backslashes in the folder id of its Drive query", async () => {
    const res = await call(browseRoute.POST, "POST", "/api/providers/gdrive/browse", {
      token,
      params: { type: "gdrive" },
      body: { what: "folders", token: fake.token, folder: "odd\\" },
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json.items, []);
  });

  test("a shared drive is listed with supportsAllDrives and corpora=drive", async () => {
    const driveId = fake.addSharedDrive("Team");
    const specs = fake.folder("specs", driveId);
    fake.file("api.md", specs, "# API\n");
    fake.file("top.txt", driveId, "top\n");
    const sourceId = await connect({ driveId });
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), ["specs/api.md", "top.txt"]);
    assert.ok(
      fake.requests
        .filter((r) => r.route === "files")
        .every((r) => r.query.get("corpora") === "drive" && r.query.get("driveId") === driveId),
    );
    fake.file("new.md", specs, "# new\n");
    await incremental(sourceId);
    assert.ok((await indexed(sourceId)).has("specs/new.md"));
  });

  test("My Drive as a whole, and clear 400s for a missing folder or a file given as folder", async () => {
    const ids = seed();
    const sourceId = await connect({});
    const keys = [...(await indexed(sourceId)).keys()];
    assert.ok(keys.includes("Projects/src/app.ts") && keys.includes("Elsewhere/other.md"));
    const missing = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "gdrive", name: "x", config: { token: fake.token, folderId: "nope" } },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.json.detail, /not found/);
    const notFolder = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "gdrive", name: "x", config: { token: fake.token, folderId: ids.app } },
    });
    assert.equal(notFolder.status, 400);
    assert.match(notFolder.json.detail, /not a folder/);
  });

  test("an incremental sync is exact after adds, edits, renames, moves, trash, deletes and folder renames/moves, without re-listing", async () => {
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    const before = await deliveryCount(sourceId);
    const listed = fake.count("files");
    const added = fake.file("added.md", ids.docs, "# added\n");
    fake.edit(ids.app, "export const app = 2;\n");
    fake.edit(ids.plan, "# Plan\n\nShip it twice.\n");
    fake.rename(ids.readme, "README-renamed.md");
    fake.move(ids.util, ids.src); // src/deep/util.py -> src/util.py
    fake.move(ids.budget, ids.outside); // moved out of the source
    fake.trash(ids.deck);
    fake.rename(ids.src, "source"); // folder rename: every file below moves
    fake.move(ids.moveIn, ids.projects); // a folder moved in brings its files
    fake.deleteForever(added); // added then deleted in the same window: nothing to deliver
    await incremental(sourceId);
    assert.deepEqual(await deliveredSince(sourceId, before), [
      "delete README.md",
      "delete docs/Budget.csv",
      "delete docs/Deck.txt",
      "delete src/app.ts",
      "delete src/deep/util.py",
      "upsert README-renamed.md",
      "upsert docs/Plan.md",
      "upsert incoming/inside-incoming.md",
      "upsert source/app.ts",
      "upsert source/util.py",
    ]);
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), [
      "README-renamed.md",
      "docs/Plan.md",
      "incoming/inside-incoming.md",
      "source/app.ts",
      "source/util.py",
    ]);
    // Only the renamed and moved-in folders were listed again (one query per level), not the tree.
    assert.ok(fake.count("files") - listed <= 4, `files.list calls: ${fake.count("files") - listed}`);

    // A trashed folder takes its files with it.
    const before2 = await deliveryCount(sourceId);
    fake.trash(ids.src);
    await incremental(sourceId);
    assert.deepEqual(await deliveredSince(sourceId, before2), ["delete source/app.ts", "delete source/util.py"]);

    // A folder deleted for good (removed changes), and a rename back restores nothing stale.
    const before3 = await deliveryCount(sourceId);
    fake.deleteForever(ids.moveIn);
    await incremental(sourceId);
    assert.deepEqual(await deliveredSince(sourceId, before3), ["delete incoming/inside-incoming.md"]);
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), ["README-renamed.md", "docs/Plan.md"]);
  });

  test("a full resync after an incremental one changes nothing (the feed kept the index exact)", async () => {
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    fake.rename(ids.docs, "documents");
    fake.move(ids.app, ids.docs);
    await incremental(sourceId);
    const afterIncremental = [...(await indexed(sourceId)).keys()].sort();
    const before = await deliveryCount(sourceId);
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full" },
    });
    assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), afterIncremental);
    assert.equal(await deliveryCount(sourceId), before, "nothing delivered twice");
    assert.ok(afterIncremental.includes("documents/app.ts"));
  });

  test("without APP_URL the source is polled: one page of the change feed, a sync only when something changed", async () => {
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    const feed = fake.count("changes");
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    assert.equal(fake.count("changes") - feed, 1, "one request per poll");
    fake.edit(ids.app, "export const app = 2;\n");
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
    const [job] = await db()
      .select()
      .from(syncJobs)
      .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "schedule")));
    const done = await waitForJob(job!.id);
    assert.equal(done.status, "completed", done.errorMessage ?? "");
    assert.equal(
      (await indexed(sourceId)).get("src/app.ts")?.sha,
      createHash("sha256").update("export const app = 2;\n").digest("hex"),
    );
  });

  test("push: a channel with a sealed random token at create; sync messages queue nothing; wrong or missing id/token/resource is 401; a change queues one incremental sync", async () => {
    process.env.APP_URL = "https://connector.example.com/";
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    const [row] = await db().select().from(driveChannels).where(eq(driveChannels.sourceId, sourceId));
    assert.ok(row && row.resourceId && row.expiresAt);
    const channel = fake.channels.find((c) => c.id === row.channelId)!;
    assert.equal(channel.address, "https://connector.example.com/api/webhooks/gdrive");
    assert.ok(channel.token.length >= 40 && channel.token.length <= 256);
    assert.ok(!row.sealedToken.includes(channel.token), "the token is stored sealed");
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.equal(source!.webhookId, row.channelId);
    const jobCount = async () => (await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId))).length;
    const jobsBefore = await jobCount();

    const sync = await post(fake.notification(channel, "sync"));
    assert.equal(sync.status, 200);
    assert.equal((await sync.json()).queued, false);

    const bad = (mutate: (h: Headers) => void) => {
      const h = fake.notification(channel);
      mutate(h);
      return post(h);
    };
    for (const mutate of [
      (h: Headers) => h.set("x-goog-channel-token", "wrong"),
      (h: Headers) => h.delete("x-goog-channel-token"),
      (h: Headers) => h.set("x-goog-channel-id", "00000000-0000-0000-0000-000000000000"),
      (h: Headers) => h.delete("x-goog-channel-id"),
      (h: Headers) => h.set("x-goog-resource-id", "res-other"),
      (h: Headers) => h.set("x-goog-channel-token", channel.token + "x"),
    ]) {
      const res = await bad(mutate);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
    }
    assert.equal(await jobCount(), jobsBefore, "nothing queued by sync or refused messages");

    fake.file("pushed.md", ids.docs, "# pushed\n");
    const headers = fake.notification(channel);
    const ok = await post(headers);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).queued, true);
    const again = await post(headers); // a redelivery of the same message
    assert.equal((await again.json()).queued, false);
    const jobs = (await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId))).filter(
      (j) => j.trigger === "webhook",
    );
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.type, "incremental");
    await waitForJob(jobs[0]!.id);
    assert.ok((await indexed(sourceId)).has("docs/pushed.md"));
  });

  test("the scheduled renewal opens the new channel before stopping the old; deleting the source stops its channel", async () => {
    process.env.APP_URL = "https://connector.example.com";
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    const [old] = await db().select().from(driveChannels).where(eq(driveChannels.sourceId, sourceId));
    const fresh = await renewDriveChannels();
    assert.deepEqual(fresh, { opened: 0, stopped: 0, failed: 0 }, "a channel far from expiry is kept");
    await db()
      .update(driveChannels)
      .set({ expiresAt: new Date(Date.now() + 10 * 60_000) })
      .where(eq(driveChannels.id, old!.id));
    const renewed = await renewDriveChannels();
    assert.deepEqual(renewed, { opened: 1, stopped: 1, failed: 0 });
    const [current] = await db().select().from(driveChannels).where(eq(driveChannels.sourceId, sourceId));
    assert.notEqual(current!.channelId, old!.channelId);
    assert.deepEqual(fake.events, [`watch ${old!.channelId}`, `watch ${current!.channelId}`, `stop ${old!.channelId}`]);
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.equal(source!.webhookId, current!.channelId);
    const oldChannel = fake.channels.find((c) => c.id === old!.channelId)!;
    assert.equal((await post(fake.notification(oldChannel))).status, 401, "the old channel is no longer accepted");

    const del = await call(sourceRoute.DELETE, "DELETE", `/api/sources/${sourceId}`, {
      token,
      params: { id: sourceId },
    });
    assert.equal(del.status, 204);
    assert.equal(fake.events.at(-1), `stop ${current!.channelId}`);
    assert.equal((await db().select().from(driveChannels)).length, 0);
  });

  test("403 userRateLimitExceeded / rateLimitExceeded and 429 are waited out, shown on the job, and nothing is lost", async () => {
    const ids = seed();
    const sourceId = await connect({ folderId: ids.projects });
    for (const kind of ["userRateLimitExceeded", "rateLimitExceeded", "429"] as const) {
      const name = `${kind}.md`;
      fake.file(name, ids.docs, `# ${kind}\n`);
      fake.throttleNext(1, kind, "changes");
      const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
        token,
        params: { id: sourceId },
        body: { type: "incremental" },
      });
      const waiting = await waitFor(
        async () => {
          const [job] = await db().select().from(syncJobs).where(eq(syncJobs.id, res.json.jobId));
          return job?.detail?.includes("rate limit") ? job : null;
        },
        { what: `the ${kind} wait to show on the job` },
      );
      assert.match(
        waiting.detail!,
        new RegExp(`waiting for rate limit until .*HTTP ${kind === "429" ? "429" : `403 ${kind}`}`),
      );
      const job = await waitForJob(res.json.jobId);
      assert.equal(job.status, "completed", job.errorMessage ?? "");
      assert.ok((await indexed(sourceId)).has(`docs/${name}`), kind);
    }
    // Rate limits in the middle of a full listing resume the listing rather than fail it.
    fake.throttleNext(2, "userRateLimitExceeded", "files");
    const full = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full" },
    });
    assert.equal((await waitForJob(full.json.jobId)).status, "completed");
    assert.equal((await indexed(sourceId)).size, SEEDED.length + 3);
  });

  test("an export over Drive's limit is recorded as a failed file; a revoked token marks the source needs_reauth", async () => {
    const ids = seed();
    fake.file("Huge", ids.docs, "x".repeat(10 * 1024 * 1024 + 1), DOC);
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "gdrive", name: "drive", config: { token: fake.token, folderId: ids.projects } },
    });
    const sourceId = res.json.source.id as string;
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed");
    assert.equal(job.filesFailed, 1);
    const [failure] = await db().select().from(syncJobFailures).where(eq(syncJobFailures.jobId, job.id));
    assert.equal(failure!.path, "docs/Huge.md");
    assert.match(failure!.error, /too large to export/);
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), SEEDED);

    fake.revokeTokens();
    const sync = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    const failed = await waitForJob(sync.json.jobId);
    assert.equal(failed.status, "failed");
    assert.match(failed.errorMessage!, /Google Drive refused the token/);
    const shown = await call(sourceRoute.GET, "GET", `/api/sources/${sourceId}`, { token, params: { id: sourceId } });
    assert.equal(shown.json.source.status, "needs_reauth");
    assert.equal(JSON.stringify(shown.json).includes(fake.token), false);
  });

  test("a file is indexed by its content and name, never by Drive's MIME label: a .ts file labelled video/mp2t is indexed", async () => {
    const dir = fake.folder("Code");
    fake.file("main.ts", dir, "export const main = () => 1;\n", "video/mp2t");
    fake.file("clip.mp4", dir, Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]), "video/mp4");
    fake.file("Survey", dir, "", FORM);
    const sourceId = await connect({ folderId: dir });
    assert.deepEqual(await contents(sourceId), { "main.ts": sha256("export const main = () => 1;\n") });
    assert.equal((await indexed(sourceId)).get("main.ts")!.language, "typescript");
  });

  test("same-named files and folders keep their own paths (the smallest id keeps the plain name, the others name~id) through edits, renames and trash, in the change feed as in a full walk", async () => {
    const dir = fake.folder("Dup");
    const content = { [fake.file("same.md", dir, "# A\n")]: "# A\n", [fake.file("same.md", dir, "# B\n")]: "# B\n" };
    const [first, second] = Object.keys(content).sort();
    const sourceId = await connect({ folderId: dir });
    assert.deepEqual(await contents(sourceId), {
      "same.md": sha256(content[first!]!),
      [`same.md~${second}`]: sha256(content[second!]!),
    });

    fake.edit(second!, "# second, edited\n");
    await incremental(sourceId);
    assert.deepEqual(await contents(sourceId), {
      "same.md": sha256(content[first!]!),
      [`same.md~${second}`]: sha256("# second, edited\n"),
    });
    fake.edit(first!, "# first, edited\n");
    await incremental(sourceId);
    assert.deepEqual(await contents(sourceId), {
      "same.md": sha256("# first, edited\n"),
      [`same.md~${second}`]: sha256("# second, edited\n"),
    });
    // The plain name's holder renamed away: the other one takes the plain name.
    fake.rename(first!, "other.md");
    await incremental(sourceId);
    assert.deepEqual(await contents(sourceId), {
      "other.md": sha256("# first, edited\n"),
      "same.md": sha256("# second, edited\n"),
    });
    fake.rename(first!, "same.md");
    await incremental(sourceId);
    assert.deepEqual(await contents(sourceId), {
      "same.md": sha256("# first, edited\n"),
      [`same.md~${second}`]: sha256("# second, edited\n"),
    });

    // Same-named sibling folders, and a folder renamed with its subfolder in one window.
    const [sub1, sub2] = [fake.folder("sub", dir), fake.folder("sub", dir)].sort();
    fake.file("x.md", sub1!, "# in the first sub\n");
    fake.file("x.md", sub2!, "# in the second sub\n");
    const parent = fake.folder("p", dir);
    const child = fake.folder("c", parent);
    fake.file("f.md", child, "# f\n");
    await incremental(sourceId);
    const expected: Record<string, string> = {
      "same.md": sha256("# first, edited\n"),
      [`same.md~${second}`]: sha256("# second, edited\n"),
      "sub/x.md": sha256("# in the first sub\n"),
      [`sub~${sub2}/x.md`]: sha256("# in the second sub\n"),
      "p/c/f.md": sha256("# f\n"),
    };
    assert.deepEqual(await contents(sourceId), expected);
    fake.rename(parent, "p2");
    fake.rename(child, "c2");
    await incremental(sourceId);
    delete expected["p/c/f.md"];
    expected["p2/c2/f.md"] = sha256("# f\n");
    assert.deepEqual(await contents(sourceId), expected);

    // Trashing one of two same-named folders removes its subtree only.
    fake.trash(sub1!);
    await incremental(sourceId);
    delete expected["sub/x.md"];
    delete expected[`sub~${sub2}/x.md`];
    expected["sub/x.md"] = sha256("# in the second sub\n");
    assert.deepEqual(await contents(sourceId), expected);

    // A full walk finds what the change feed kept: nothing to deliver.
    const before = await deliveryCount(sourceId);
    await full(sourceId);
    assert.equal(await deliveryCount(sourceId), before);
    assert.deepEqual(await contents(sourceId), expected);
  });

  test("retrying the failed files resolves name~id paths by id: nothing is deleted", async () => {
    const dir = fake.folder("Retry");
    const [first, second] = [fake.file("Notes", dir, "# one\n", DOC), fake.file("Notes", dir, "# two\n", DOC)].sort();
    const sourceId = await connect({ folderId: dir });
    assert.deepEqual(Object.keys(await contents(sourceId)), ["Notes.md", `Notes.md~${second}`]);
    fake.edit(first!, "x".repeat(10 * 1024 * 1024 + 1));
    fake.edit(second!, "x".repeat(10 * 1024 * 1024 + 1));
    const failedJob = await incremental(sourceId);
    assert.equal(failedJob.filesFailed, 2);
    const before = await deliveryCount(sourceId);
    fake.edit(second!, "# two, smaller again\n");
    const retry = await call(retryRoute.POST, "POST", `/api/jobs/${failedJob.id}/retry-failed`, {
      token,
      params: { id: failedJob.id },
    });
    assert.equal(retry.status, 202, JSON.stringify(retry.json));
    const job = await waitForJob(retry.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(job.filesFailed, 1, "the one still too large fails again");
    assert.deepEqual(await deliveredSince(sourceId, before), [`upsert Notes.md~${second}`]);
    assert.deepEqual(Object.keys(await contents(sourceId)), ["Notes.md", `Notes.md~${second}`]);
  });
});
