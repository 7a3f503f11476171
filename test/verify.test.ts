import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { and, eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as verifyRoute from "@/app/api/sources/[id]/verify/route";
import * as jobRoute from "@/app/api/jobs/[id]/route";
import { files, sources, syncJobs } from "@/lib/db/schema";
import { formatAgo } from "@/lib/format";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { verifySource } from "@/lib/verify/verify-source";
import { scheduleVerifies } from "@/lib/verify/schedule-verifies";
import { buildLocalTree, EXPECTED_FILES } from "./fixtures/local-tree";
import { GitRepo } from "./fakes/git-repo";
import { startGitHubFake } from "./fakes/github-fake";
import { startDropboxFake, type DropboxFake } from "./fakes/dropbox-server";
import { startGitLabFake } from "./fakes/gitlab-fake";
import { startBitbucketFake } from "./fakes/bitbucket-fake";
import { startDriveFake, type DriveFake } from "./fakes/drive-server";
import { call, closeAll, db, indexed, operatorToken, resetDb, tempDir, waitFor, waitForJob } from "./helpers";

const rootsDir = tempDir("dc-verify-roots-");
const outside = tempDir("dc-verify-outside-");
process.env.LOCAL_SOURCE_ROOTS = rootsDir;
// Request counts are exact: no poll of the sources runs meanwhile (a yearly cron).
process.env.POLL_SOURCES_CRON = "0 0 1 1 *";

const GH_TOKEN = "ghp_fakeTokenForVerifyTests012345678";
const OWNER = "octo";
const NAME = "verified";

let worker: RunningWorker;
let token: string;
let repo: GitRepo;
let github: Awaited<ReturnType<typeof startGitHubFake>>;
let dropbox: DropboxFake;
let gitlab: Awaited<ReturnType<typeof startGitLabFake>>;
let bitbucket: Awaited<ReturnType<typeof startBitbucketFake>>;
let drive: DriveFake;
const GL_TOKEN = "glpat-fakeTokenForVerify0123";
const GL_PROJECT = "group/verified";
const BB_TOKEN = "bbat-fakeTokenForVerify";
const BB_NAME = "team/verified";

async function connect(type: string, name: string, config: Record<string, unknown>): Promise<string> {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", { token, body: { type, name, config } });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return res.json.source.id as string;
}

function localFolder(): string {
  const folder = path.join(rootsDir, `src-${randomUUID()}`);
  buildLocalTree(folder, outside);
  return folder;
}

/** Requests a verify through the API and waits for it; answers the job as the API shows it. */
async function verify(sourceId: string) {
  const res = await call(verifyRoute.POST, "POST", `/api/sources/${sourceId}/verify`, {
    token,
    params: { id: sourceId },
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const settled = await waitForJob(res.json.jobId);
  assert.equal(settled.status, "completed", settled.errorMessage ?? "");
  const shown = await call(jobRoute.GET, "GET", `/api/jobs/${res.json.jobId}`, {
    token,
    params: { id: res.json.jobId },
  });
  assert.equal(shown.json.job.type, "verify");
  return shown.json.job;
}

/** A row changed behind the engine's back (it claims another version), one deleted, one invented. */
async function plantDrift(sourceId: string, changed: string, deleted: string) {
  await db()
    .update(files)
    .set({ sha: "0".repeat(64), providerVersion: "planted-version" })
    .where(and(eq(files.sourceId, sourceId), eq(files.path, changed)));
  await db()
    .delete(files)
    .where(and(eq(files.sourceId, sourceId), eq(files.path, deleted)));
  await db()
    .insert(files)
    .values({ sourceId, path: "invented/ghost.md", sha: "1".repeat(64), size: 5, providerVersion: "ghost" });
}

/**
 * When the repair a verify queued started: the worker may begin it as soon as the verify ends,
 * so a verify's own requests are those a fake received by then.
 */
async function repairStart(sourceId: string): Promise<number> {
  const repair = await repairOf(sourceId);
  assert.equal(repair.status, "completed", repair.errorMessage ?? "");
  return repair.startedAt!.getTime();
}

/** The repair a verify queued (a full sync, trigger verify), once it has finished. */
async function repairOf(sourceId: string) {
  const repair = await waitFor(
    async () => {
      const [row] = await db()
        .select()
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "verify")));
      return row;
    },
    { what: "the repair sync" },
  );
  return waitForJob(repair.id);
}

const snapshot = async (sourceId: string) =>
  [...(await indexed(sourceId)).values()].map((r) => JSON.stringify(r)).sort();

async function sourceJson(sourceId: string) {
  const res = await call(sourceRoute.GET, "GET", `/api/sources/${sourceId}`, { token, params: { id: sourceId } });
  return res.json.source;
}

describe("verify", () => {
  before(async () => {
    repo = new GitRepo();
    repo.commit({ "README.md": "# Verified\n", "src/a.ts": "export const a = 1;\n", "src/b.py": "b = 2\n" }, {}, "one");
    github = await startGitHubFake({ owner: OWNER, name: NAME, token: GH_TOKEN, repo });
    process.env.GITHUB_API_URL = github.base;
    gitlab = await startGitLabFake({ project: GL_PROJECT, token: GL_TOKEN, repo });
    bitbucket = await startBitbucketFake({ fullName: BB_NAME, token: BB_TOKEN, repo, pagelen: 100 });
    process.env.ALLOWED_PRIVATE_HOSTS = new URL(gitlab.base).host;
    process.env.BITBUCKET_API_URL = `${bitbucket.base}/2.0`;
    process.env.BITBUCKET_URL = bitbucket.base;
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await github.close();
    await gitlab.close();
    await bitbucket.close();
    await drive?.close();
    await dropbox?.close();
    await closeAll();
  });
  beforeEach(async () => {
    delete process.env.APP_URL;
    await resetDb();
    token = await operatorToken();
  });

  test("local: planted drift is found (missing, extra, differing), a full sync repairs it, a second verify is exact", async () => {
    const sourceId = await connect("local", "verified-local", { path: localFolder() });
    const exact = await verify(sourceId);
    // The binary .txt, the 2 MB file and node_modules/ are listed but dropped by the checks: never missing.
    assert.deepEqual(exact.verify, {
      missing: 0,
      extra: 0,
      differing: 0,
      behind: false,
      examples: { missing: [], extra: [], differing: [] },
    });
    const verified = await sourceJson(sourceId);
    assert.equal(verified.drift, 0);
    assert.ok(verified.verifiedAt);

    await plantDrift(sourceId, "src/index.ts", "lib/main.go");
    const found = await verify(sourceId);
    assert.deepEqual(found.verify, {
      missing: 1,
      extra: 1,
      differing: 1,
      behind: false,
      examples: { missing: ["lib/main.go"], extra: ["invented/ghost.md"], differing: ["src/index.ts"] },
    });
    const repair = await repairOf(sourceId);
    assert.equal(repair.type, "full");
    assert.equal(repair.status, "completed", repair.errorMessage ?? "");
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), Object.keys(EXPECTED_FILES).sort());
    const again = await verify(sourceId);
    assert.equal(again.verify.missing + again.verify.extra + again.verify.differing, 0);
    assert.equal((await sourceJson(sourceId)).drift, 0);
  });

  test("local: a verify changes no file row, whatever it finds", async () => {
    const sourceId = await connect("local", "untouched", { path: localFolder() });
    await plantDrift(sourceId, "README.md", "Makefile");
    const before = await snapshot(sourceId);
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    const { result } = await verifySource(source!);
    assert.equal(result.missing + result.extra + result.differing, 3);
    assert.deepEqual(await snapshot(sourceId), before);
  });

  test("local: the source's filters apply to the listing first, so files they drop are never missing", async () => {
    const sourceId = await connect("local", "filtered", {
      path: localFolder(),
      include: ["src/**", "docs/**"],
      exclude: ["**/*.py"],
    });
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), ["docs/notes.md", "src/index.ts"]);
    const result = await verify(sourceId);
    assert.deepEqual(
      { missing: result.verify.missing, extra: result.verify.extra, differing: result.verify.differing },
      { missing: 0, extra: 0, differing: 0 },
    );
  });

  test("while the deletion guard holds syncs back, drift queues no repair and says so", async () => {
    const sourceId = await connect("local", "guarded", { path: localFolder() });
    await db().insert(syncJobs).values({
      sourceId,
      type: "full",
      status: "failed",
      errorMessage: 'This sync would delete 12 files; confirm with {"type": "full", "confirmDeletes": true}.',
    });
    await plantDrift(sourceId, "README.md", "Makefile");
    const found = await verify(sourceId);
    assert.equal(found.verify.missing + found.verify.extra + found.verify.differing, 3);
    assert.match(found.detail, /No repair is queued while the deletion guard holds syncs back/);
    const repairs = await db()
      .select()
      .from(syncJobs)
      .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "verify")));
    assert.equal(repairs.length, 0);
    const shown = await sourceJson(sourceId);
    assert.equal(shown.drift, 3);
    assert.match(shown.statusDetail, /Verify found 3 files that differ/);
  });

  test("GitHub: one tree request at the indexed commit finds planted drift; the repair makes it exact", async () => {
    const sourceId = await connect("github", `${OWNER}/${NAME}`, { token: GH_TOKEN });
    await plantDrift(sourceId, "src/a.ts", "src/b.py");
    const from = github.requests.length;
    const found = await verify(sourceId);
    assert.deepEqual(found.verify, {
      missing: 1,
      extra: 1,
      differing: 1,
      behind: false,
      examples: { missing: ["src/b.py"], extra: ["invented/ghost.md"], differing: ["src/a.ts"] },
    });
    // The head (to tell behind from drift), one recursive tree, and the missing file read once
    // to apply the content checks.
    const until = await repairStart(sourceId);
    assert.deepEqual(
      github.log(from, until).map((l) => l.replace(/[0-9a-f]{40}/g, "<sha>")),
      [
        `GET /repos/${OWNER}/${NAME}/commits/main`,
        `GET /repos/${OWNER}/${NAME}/git/trees/<sha>`,
        `GET /repos/${OWNER}/${NAME}/git/blobs/<sha>`,
      ],
    );
    const again = await verify(sourceId);
    assert.equal(again.verify.missing + again.verify.extra + again.verify.differing, 0);
  });

  test("GitHub: a source whose branch moved on is behind, not drift, and an incremental sync catches up", async () => {
    const sourceId = await connect("github", `${OWNER}/${NAME}`, { token: GH_TOKEN });
    const indexedHead = repo.head();
    repo.commit({ "src/c.ts": "export const c = 3;\n" }, {}, "two");
    const found = await verify(sourceId);
    assert.equal(found.verify.behind, true);
    assert.equal(found.verify.missing + found.verify.extra + found.verify.differing, 0);
    assert.equal((await sourceJson(sourceId)).drift, 0);
    const catchUp = await repairOf(sourceId);
    assert.equal(catchUp.type, "incremental");
    assert.equal(catchUp.status, "completed", catchUp.errorMessage ?? "");
    assert.ok((await indexed(sourceId)).has("src/c.ts"));
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.notEqual(source!.cursor, indexedHead);
  });

  test("Dropbox: one listing compared by content_hash finds planted drift; the repair makes it exact", async () => {
    await dropbox?.close();
    dropbox = await startDropboxFake();
    Object.assign(process.env, dropbox.env);
    dropbox.put("/Docs/README.md", "# Docs\n");
    dropbox.put("/Docs/src/app.ts", "export const app = 1;\n");
    dropbox.put("/Docs/notes/todo.txt", "buy milk\n");
    dropbox.put("/Docs/logo.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2]));
    const sourceId = await connect("dropbox", "docs", { token: dropbox.token, path: "/Docs" });
    await plantDrift(sourceId, "src/app.ts", "notes/todo.txt");
    const from = dropbox.requests.length;
    const found = await verify(sourceId);
    assert.deepEqual(found.verify, {
      missing: 1,
      extra: 1,
      differing: 1,
      behind: false,
      examples: { missing: ["notes/todo.txt"], extra: ["invented/ghost.md"], differing: ["src/app.ts"] },
    });
    // Pending changes (one page of the feed), the listing, and two reads to apply the content
    // checks to the unindexed files: the binary logo (never missing) and the missing file.
    const until = await repairStart(sourceId);
    assert.deepEqual(
      dropbox.requests
        .slice(from)
        .filter((r) => r.at <= until)
        .map((r) => r.route)
        .sort(),
      ["files/download", "files/download", "files/list_folder", "files/list_folder/continue"],
    );
    const again = await verify(sourceId);
    assert.equal(again.verify.missing + again.verify.extra + again.verify.differing, 0);

    dropbox.put("/Docs/new.md", "new\n");
    const behind = await verify(sourceId);
    assert.equal(behind.verify.behind, true);
  });

  test("GitLab: the paged tree at the indexed commit finds planted drift; the repair makes it exact", async () => {
    const sourceId = await connect("gitlab", GL_PROJECT, { host: gitlab.base, token: GL_TOKEN });
    await plantDrift(sourceId, "src/a.ts", "src/b.py");
    const from = gitlab.requests.length;
    const found = await verify(sourceId);
    assert.deepEqual(
      { missing: found.verify.missing, extra: found.verify.extra, differing: found.verify.differing },
      { missing: 1, extra: 1, differing: 1 },
    );
    const requests = gitlab.log(from, await repairStart(sourceId));
    assert.equal(requests.filter((r) => /\/repository\/tree$/.test(r)).length, 1, requests.join("\n"));
    assert.ok(!requests.some((r) => /archive/.test(r)), "no archive");
    const again = await verify(sourceId);
    assert.equal(again.verify.missing + again.verify.extra + again.verify.differing, 0);
  });

  test("Bitbucket: one archive, hashed, finds a row whose sha alone was changed; the repair makes it exact", async () => {
    const sourceId = await connect("bitbucket", BB_NAME, { token: BB_TOKEN });
    // Only the content hash: the listing has no blob ids, so the archive's content is the truth.
    await db()
      .update(files)
      .set({ sha: "0".repeat(64) })
      .where(and(eq(files.sourceId, sourceId), eq(files.path, "README.md")));
    const from = bitbucket.requests.length;
    const found = await verify(sourceId);
    assert.deepEqual(found.verify.examples, { missing: [], extra: [], differing: ["README.md"] });
    const requests = bitbucket.log(from, await repairStart(sourceId));
    assert.equal(requests.filter((r) => /\.tar\.gz$/.test(r)).length, 1, requests.join("\n"));
    assert.equal(requests.length, 2, requests.join("\n"));
    const again = await verify(sourceId);
    assert.equal(again.verify.differing, 0);
  });

  test("Drive: one listing compared by id, md5 and size finds planted drift; the repair makes it exact", async () => {
    await drive?.close();
    drive = await startDriveFake({ maxPageSize: 100 });
    Object.assign(process.env, drive.env);
    const folder = drive.folder("Project");
    drive.file("a.md", folder, "# A\n");
    drive.file("b.ts", folder, "export const b = 1;\n");
    drive.file("c.txt", folder, "see\n");
    const sourceId = await connect("gdrive", "drive", { token: drive.token, folderId: folder });
    await plantDrift(sourceId, "a.md", "c.txt");
    const from = drive.requests.length;
    const found = await verify(sourceId);
    // One page of changes and one listing; the only content read is the missing file's, to apply the content checks.
    const until = await repairStart(sourceId);
    const made = drive.requests.slice(from).filter((r) => r.at <= until);
    assert.equal(made.filter((r) => r.query.get("alt") === "media").length, 1);
    assert.equal(made.filter((r) => r.route === "changes").length, 1);
    assert.deepEqual(found.verify.examples, { missing: ["c.txt"], extra: ["invented/ghost.md"], differing: ["a.md"] });
    const again = await verify(sourceId);
    assert.equal(again.verify.missing + again.verify.extra + again.verify.differing, 0);
  });

  test("a sync that fails queues a verify (trigger after-error)", async () => {
    const folder = localFolder();
    const sourceId = await connect("local", "fails-later", { path: folder });
    rmSync(folder, { recursive: true });
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full" },
    });
    assert.equal((await waitForJob(res.json.jobId)).status, "failed");
    const verifyJob = await waitFor(
      async () => {
        const [row] = await db()
          .select()
          .from(syncJobs)
          .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.type, "verify")));
        return row;
      },
      { what: "the verify after the failed sync" },
    );
    assert.equal(verifyJob.trigger, "after-error");
    await waitForJob(verifyJob.id);
  });

  test("a verify is its own job, never merged into a sync, and compares only once the sync is done", async () => {
    const sourceId = await connect("local", "separate", { path: localFolder() });
    const sync = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full" },
    });
    const requested = await call(verifyRoute.POST, "POST", `/api/sources/${sourceId}/verify`, {
      token,
      params: { id: sourceId },
    });
    assert.notEqual(requested.json.jobId, sync.json.jobId);
    const synced = await waitForJob(sync.json.jobId);
    const verified = await waitForJob(requested.json.jobId);
    assert.equal(synced.type, "full");
    assert.equal(verified.type, "verify");
    assert.equal(verified.status, "completed", verified.errorMessage ?? "");
    assert.ok(verified.startedAt! >= synced.completedAt!, "the verify started after the sync completed");
    assert.equal(verified.result!.missing + verified.result!.extra + verified.result!.differing, 0);
  });

  test("the schedule queues verifies only when VERIFY_INTERVAL says they are due, and never with off", async () => {
    const sourceId = await connect("local", "scheduled", { path: localFolder() });
    process.env.VERIFY_INTERVAL = "off";
    assert.deepEqual(await scheduleVerifies(), { queued: 0 });
    process.env.VERIFY_INTERVAL = "3600";
    assert.deepEqual(await scheduleVerifies(), { queued: 0 });
    await db()
      .update(sources)
      .set({ createdAt: new Date(Date.now() - 2 * 3600_000) })
      .where(eq(sources.id, sourceId));
    assert.deepEqual(await scheduleVerifies(), { queued: 1 });
    delete process.env.VERIFY_INTERVAL;
    const job = await waitFor(async () => {
      const [row] = await db()
        .select()
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.type, "verify")));
      return row;
    });
    assert.equal(job.trigger, "schedule");
    assert.equal((await waitForJob(job.id)).status, "completed");
  });

  test('the dashboard says "Verified exact 3 h ago" in short units', () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    assert.equal(formatAgo("2026-01-01T09:00:00Z", now), "3 h ago");
    assert.equal(formatAgo("2026-01-01T11:55:00Z", now), "5 min ago");
    assert.equal(formatAgo("2025-12-30T12:00:00Z", now), "2 d ago");
    assert.equal(formatAgo("2026-01-01T11:59:30Z", now), "just now");
  });

  test("POST /api/sources/:id/verify answers 404 for an unknown source", async () => {
    const id = randomUUID();
    const res = await call(verifyRoute.POST, "POST", `/api/sources/${id}/verify`, { token, params: { id } });
    assert.equal(res.status, 404);
    assert.match(res.type ?? "", /problem\+json/);
  });
});
