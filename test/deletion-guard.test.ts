import assert from "node:assert/strict";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { sources, syncJobBatches, syncJobFailures } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { requestSync } from "@/lib/queue/request-sync";
import {
  call,
  closeAll,
  db,
  deliveredSince,
  deliveryCount,
  indexed,
  operatorToken,
  resetDb,
  tempDir,
  waitForJob,
  writeTree,
} from "./helpers";

const rootsDir = tempDir("dc-guard-roots-");
process.env.LOCAL_SOURCE_ROOTS = rootsDir;

let worker: RunningWorker;
let token: string;
let folder: string;

const twelve = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`docs/note-${i}.md`, `# note ${i}\n`]));

async function connect(config: Record<string, unknown> = {}) {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "local", name: "guarded", config: { path: folder, ...config } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return res.json.source.id as string;
}

async function sync(sourceId: string, body: Record<string, unknown>) {
  const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
    token,
    params: { id: sourceId },
    body,
  });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  return waitForJob(res.json.jobId);
}

async function getSource(sourceId: string) {
  const res = await call(sourceRoute.GET, "GET", `/api/sources/${sourceId}`, { token, params: { id: sourceId } });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.source;
}

describe("deletion guard and full-sync checks", () => {
  before(async () => {
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await closeAll();
  });
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
    folder = path.join(rootsDir, path.basename(tempDir("dc-guard-src-")));
  });

  test("the guard holds back at least 10 files that are more than half of the index, and the threshold is configurable", async () => {
    const { deletionGuardHolds } = await import("../lib/sync/deletion-guard");
    assert.equal(deletionGuardHolds({ vanished: 10, indexed: 19 }, 0.5), true);
    assert.equal(deletionGuardHolds({ vanished: 10, indexed: 20 }, 0.5), false, "exactly half is allowed");
    assert.equal(deletionGuardHolds({ vanished: 9, indexed: 9 }, 0.5), false, "fewer than 10 files never hold");
    assert.equal(deletionGuardHolds({ vanished: 1000, indexed: 1000 }, 1), false, "1 turns the guard off");
    assert.equal(deletionGuardHolds({ vanished: 30, indexed: 100 }, 0.25), true);
    assert.equal(deletionGuardHolds({ vanished: 0, indexed: 0 }, 0.5), false);
    assert.equal(deletionGuardHolds({ vanished: 12, added: 12, indexed: 13 }, 0.5), false, "a rename loses nothing");
    assert.equal(deletionGuardHolds({ vanished: 20, added: 5, indexed: 20 }, 0.5), true);
  });

  test("a root emptied under the index: the guard holds (index kept, nothing delivered), confirmDeletes empties it", async () => {
    writeTree(folder, { ...twelve, "keep.md": "# kept\n" });
    const sourceId = await connect();
    assert.equal((await indexed(sourceId)).size, 13);
    const before = await deliveryCount(sourceId);

    // An unmounted mountpoint looks like this: every file gone, one left and changed.
    rmSync(path.join(folder, "docs"), { recursive: true });
    writeFileSync(path.join(folder, "keep.md"), "# kept, edited\n");
    const held = await sync(sourceId, { type: "full" });
    assert.equal(held.status, "failed");
    assert.match(held.errorMessage ?? "", /12 files/);
    assert.match(held.errorMessage ?? "", /confirmDeletes/);
    assert.equal((await indexed(sourceId)).size, 13, "the index is kept");
    assert.equal(await deliveryCount(sourceId), before, "nothing is delivered downstream");
    const errored = await getSource(sourceId);
    assert.equal(errored.status, "error");
    assert.equal(errored.statusDetail, held.errorMessage);

    // An incremental sync of the same source is guarded too, and one the watcher asks for.
    const incremental = await sync(sourceId, { type: "incremental" });
    assert.equal(incremental.status, "failed");
    const watched = await waitForJob(
      (await requestSync({ sourceId, type: "incremental", trigger: "watcher", paths: ["docs"] })).jobId,
    );
    assert.equal(watched.status, "failed");
    assert.match(watched.errorMessage ?? "", /12 files/);
    assert.equal((await indexed(sourceId)).size, 13);
    assert.equal(await deliveryCount(sourceId), before);

    const refused = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental", confirmDeletes: true },
    });
    assert.equal(refused.status, 422, JSON.stringify(refused.json));
    assert.match(refused.json.detail, /confirmDeletes.*full/);

    const confirmed = await sync(sourceId, { type: "full", confirmDeletes: true });
    assert.equal(confirmed.status, "completed", confirmed.errorMessage ?? "");
    assert.deepEqual([...(await indexed(sourceId)).keys()], ["keep.md"]);
    assert.deepEqual(await deliveredSince(sourceId, before), [
      ...Object.keys(twelve)
        .map((p) => `delete ${p}`)
        .sort(),
      "upsert keep.md",
    ]);
    const synced = await getSource(sourceId);
    assert.equal(synced.status, "synced");
    assert.equal(synced.statusDetail, null);
  });

  test("a large listing is held back whole while the guard may still hold: nothing is written or delivered", async () => {
    const bulk = Object.fromEntries(Array.from({ length: 2400 }, (_, i) => [`bulk/d${i % 24}/f${i}.md`, `# ${i}\n`]));
    writeTree(folder, bulk);
    const sourceId = await connect();
    const before = await deliveryCount(sourceId);
    const shaBefore = (await indexed(sourceId)).get("bulk/d0/f1800.md")?.sha;
    // 1,600 files gone, the other 800 edited and 300 new: 1,100 changed files, enough to be
    // fanned out during the listing, which the guard (1,300 lost of 2,400) must stop first.
    for (let i = 0; i < 1600; i++) rmSync(path.join(folder, `bulk/d${i % 24}/f${i}.md`));
    const edits: Record<string, string> = {};
    for (let i = 1600; i < 2400; i++) edits[`bulk/d${i % 24}/f${i}.md`] = `# ${i}, edited\n`;
    for (let i = 0; i < 300; i++) edits[`bulk/new/n${i}.md`] = `# new ${i}\n`;
    writeTree(folder, edits);
    const held = await sync(sourceId, { type: "full" });
    assert.equal(held.status, "failed");
    assert.match(held.errorMessage ?? "", /1600 files/);
    const rows = await indexed(sourceId);
    assert.equal(rows.size, 2400, "the index is kept");
    assert.equal(rows.get("bulk/d0/f1800.md")?.sha, shaBefore, "no edit is indexed");
    assert.equal(rows.has("bulk/new/n0.md"), false, "no new file is indexed");
    assert.equal(await deliveryCount(sourceId), before, "nothing is delivered downstream");
    const batches = await db().select().from(syncJobBatches).where(eq(syncJobBatches.jobId, held.id));
    assert.deepEqual(batches, [], "no batch was enqueued");
  });

  test("a renamed folder is not guarded: its files come back under the new name", async () => {
    writeTree(folder, { ...twelve, "keep.md": "# kept\n" });
    const sourceId = await connect();
    renameSync(path.join(folder, "docs"), path.join(folder, "notes"));
    const job = await sync(sourceId, { type: "full" });
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.deepEqual(
      [...(await indexed(sourceId)).keys()].sort(),
      ["keep.md", ...Object.keys(twelve).map((p) => p.replace("docs/", "notes/"))].sort(),
    );
  });

  test("files dropped by the source's own new filters are removed, not guarded", async () => {
    writeTree(folder, { ...twelve, "src/a.ts": "export const a = 1;\n" });
    const sourceId = await connect();
    const patched = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${sourceId}`, {
      token,
      params: { id: sourceId },
      body: { config: { exclude: ["**/*.md"] } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    const job = await sync(sourceId, { type: "full" });
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.deepEqual([...(await indexed(sourceId)).keys()], ["src/a.ts"]);
  });

  test("a source saved with a glob that cannot run in linear time stops with a message, without retries", async () => {
    writeTree(folder, { "a.md": "# a\n" });
    const sourceId = await connect();
    // Saved before such patterns were refused: the API no longer accepts it.
    await db()
      .update(sources)
      .set({ config: { path: folder, include: ["!(*.test).md"] } })
      .where(eq(sources.id, sourceId));
    const job = await sync(sourceId, { type: "full" });
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1);
    assert.match(job.errorMessage ?? "", /"!\(\*\.test\)\.md" cannot be matched in linear time/);
    assert.equal((await getSource(sourceId)).statusDetail, job.errorMessage);
    assert.deepEqual([...(await indexed(sourceId)).keys()], ["a.md"]);
  });

  test("lowering maxFileSize removes the larger files on the next full sync, downstream too", async () => {
    writeTree(folder, { "small.txt": "s".repeat(100), "big.txt": "b".repeat(5000) });
    const sourceId = await connect();
    assert.equal((await indexed(sourceId)).size, 2);
    const before = await deliveryCount(sourceId);
    const patched = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${sourceId}`, {
      token,
      params: { id: sourceId },
      body: { config: { maxFileSize: 1000 } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    const job = await sync(sourceId, { type: "full" });
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.deepEqual([...(await indexed(sourceId)).keys()], ["small.txt"]);
    assert.deepEqual(await deliveredSince(sourceId, before), ["delete big.txt"]);
  });

  test("a path over 1,024 characters fails that file only, recorded", async () => {
    const long = Array.from({ length: 6 }, (_, i) => `${i}`.padEnd(200, "x")).join("/") + "/long.md";
    assert.ok(long.length > 1024);
    writeTree(folder, { "ok.md": "# ok\n", [long]: "# long\n" });
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "long", config: { path: folder } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(job.filesFailed, 1);
    assert.deepEqual([...(await indexed(res.json.source.id)).keys()], ["ok.md"]);
    const failures = await db().select().from(syncJobFailures).where(eq(syncJobFailures.jobId, job.id));
    assert.deepEqual(
      failures.map((f) => f.path),
      [long],
    );
    assert.match(failures[0]!.error, /1,?024/);
  });
});
