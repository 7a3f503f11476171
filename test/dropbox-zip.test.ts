import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { countEntry, planZips, type FolderStats } from "@/lib/connectors/dropbox/plan-zips";
import type { RemoteFile } from "@/lib/connectors/types";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { startDropboxFake, type DropboxFake } from "./fakes/dropbox-server";
import { eq } from "drizzle-orm";
import { syncJobFailures, syncJobs } from "@/lib/db/schema";
import { call, closeAll, db, indexed, operatorToken, resetDb, waitForJob } from "./helpers";

let fake: DropboxFake | null = null;
let worker: RunningWorker;
let token: string;

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const body = (i: number, round = 0) => `// file ${i} round ${round}\nexport const value${i} = ${round};\n`;
const pathOf = (i: number) => `d${i % 10}/f${i}.ts`;

async function startFake(files: number, options: Parameters<typeof startDropboxFake>[0] = {}) {
  await fake?.close();
  fake = await startDropboxFake(options);
  Object.assign(process.env, fake.env);
  for (let i = 0; i < files; i++) fake.put(`/Big/${pathOf(i)}`, body(i));
  fake.put("/Other/outside.md", "not in the source\n");
  return fake;
}

async function connect(path = "/Big") {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "dropbox", name: "big", config: { token: fake!.token, path } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return res.json.source.id as string;
}

/** The index holds exactly these paths with exactly these contents. */
async function assertExact(sourceId: string, expected: Map<string, string>) {
  const rows = await indexed(sourceId);
  assert.deepEqual([...rows.keys()].sort(), [...expected.keys()].sort());
  for (const [path, content] of expected) assert.equal(rows.get(path)!.sha, sha256(content), path);
}

const folder = (files: number, round = 0) =>
  new Map(Array.from({ length: files }, (_, i) => [pathOf(i), body(i, round)] as const));

test("planZips splits a folder over Dropbox's zip limits by its listing into its subfolders, files beside them alone", () => {
  const files: RemoteFile[] = [];
  const stats: FolderStats = new Map();
  for (let i = 0; i < 12_000; i++) {
    const path = `${i % 2 ? "a" : "B"}/f${i}.txt`;
    files.push({ path, size: 10, version: "v" });
    countEntry(stats, path, 10);
  }
  for (const path of ["top.txt", "a", "B"]) countEntry(stats, path, path === "top.txt" ? 10 : null);
  files.push({ path: "top.txt", size: 10, version: "v" });
  const plan = planZips(files, false, stats);
  assert.deepEqual(
    plan.zips.map((z) => [z.folder, z.files.length]),
    [
      ["B", 6000],
      ["a", 6000],
    ],
  );
  assert.deepEqual(
    plan.single.map((f) => f.path),
    ["top.txt"],
  );
  const smallStats: FolderStats = new Map();
  for (const file of files.slice(0, 100)) countEntry(smallStats, file.path, file.size);
  const small = planZips(files.slice(0, 100), false, smallStats);
  assert.deepEqual(
    small.zips.map((z) => z.folder),
    [""],
    "within the limits: one zip of the folder",
  );
  const whole = planZips(files.slice(0, 100), true, null);
  assert.deepEqual(whole.zips.map((z) => z.folder).sort(), ["B", "a"], "the whole Dropbox: one zip per top folder");
});

describe("Dropbox syncs from zips", () => {
  before(async () => {
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await fake?.close();
    await closeAll();
  });
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });

  test("a full sync of a 600-file folder costs at most 10 requests: a paged listing and one zip, no file downloaded alone", async () => {
    const dbx = await startFake(600, { pageLimit: 250 });
    const sourceId = await connect();
    await assertExact(sourceId, folder(600));
    assert.equal(dbx.count("files/download_zip"), 1);
    assert.deepEqual(dbx.zipPaths, ["/Big"]);
    assert.equal(dbx.count("files/download"), 0);
    assert.equal(dbx.count("files/list_folder/continue"), 2, "the listing was paged");
    assert.ok(dbx.requests.length <= 10, `${dbx.requests.length} requests: ${dbx.requests.map((r) => r.route)}`);
  });

  for (const [limit, options] of [
    ["too_many_files", { zipMaxEntries: 20 }],
    ["too_large", { zipMaxBytes: 200 }],
  ] as const) {
    test(`a folder over the zip limits (${limit}) is read file by file, exactly, after one refused zip`, async () => {
      const dbx = await startFake(30, options);
      const sourceId = await connect();
      await assertExact(sourceId, folder(30));
      assert.equal(dbx.count("files/download_zip"), 1, "the refusal is not asked again");
      assert.equal(dbx.count("files/download"), 30);
      assert.equal(dbx.count("files/list_folder"), 1, "listed once");
    });
  }

  test("a folder mostly of a file no sync would read (over the size cap) is split: its subfolders zipped, the files beside that file downloaded alone", async () => {
    const dbx = await startFake(30);
    dbx.put("/Big/d0/video.bin", Buffer.alloc(40 * 1024 * 1024, 1));
    const sourceId = await connect();
    await assertExact(sourceId, folder(30));
    assert.deepEqual(
      [...dbx.zipPaths].sort(),
      Array.from({ length: 9 }, (_, i) => `/Big/d${i + 1}`),
      "no zip holds the large file",
    );
    assert.equal(dbx.count("files/download"), 3, "the three files of d0");
    assert.equal(dbx.count("files/list_folder"), 1, "listed once");
  });

  test("an entry that does not match its listed content_hash is downloaded alone; the rest comes from the zip", async () => {
    const dbx = await startFake(30);
    dbx.corruptInZips(`/Big/${pathOf(7)}`);
    const sourceId = await connect();
    await assertExact(sourceId, folder(30));
    assert.equal(dbx.count("files/download_zip"), 1);
    assert.equal(dbx.count("files/download"), 1);
  });

  test("a first sync records a file Dropbox refuses to download (restricted content, after a bad zip entry) as failed, not silently left out", async () => {
    const dbx = await startFake(30);
    const refused = `/Big/${pathOf(7)}`;
    dbx.corruptInZips(refused);
    dbx.restrictDownloads(refused);
    const sourceId = await connect();
    const job = (await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId))).find(
      (j) => j.type !== "verify",
    );
    assert.equal(job!.filesFailed, 1, "the refused file is counted as failed");
    const failures = await db().select().from(syncJobFailures).where(eq(syncJobFailures.jobId, job!.id));
    assert.deepEqual(
      failures.map((f) => f.path),
      [pathOf(7)],
    );
    assert.match(failures[0]!.error, /restricted_content/);
    const expected = folder(30);
    expected.delete(pathOf(7));
    await assertExact(sourceId, expected);
  });

  for (const cleanEnd of [false, true]) {
    test(`a zip cut short (${cleanEnd ? "an answer that just ends" : "the connection dropped"}) falls back to per-file downloads, exactly`, async () => {
      const dbx = await startFake(30);
      dbx.cutNextZip(700, cleanEnd);
      const sourceId = await connect();
      await assertExact(sourceId, folder(30));
      assert.equal(dbx.count("files/download_zip"), 1);
      assert.equal(dbx.count("files/download"), 30);
      assert.equal(dbx.count("files/list_folder"), 1, "listed once");
    });
  }

  test("an incremental sync changing more than SYNC_ARCHIVE_MIN_FILES files reads them from one zip of the folder holding them, a bad entry alone", async () => {
    const dbx = await startFake(300);
    const sourceId = await connect();
    const changed = Array.from({ length: 300 }, (_, i) => i)
      .filter((i) => i % 10 === 3)
      .slice(0, 27);
    for (const i of changed) dbx.put(`/Big/${pathOf(i)}`, body(i, 1));
    dbx.put("/Big/d3/new.ts", "export const added = 1;\n");
    dbx.corruptInZips(`/Big/${pathOf(changed[0]!)}`);
    const downloads = dbx.count("files/download");
    const sync = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    const job = await waitForJob(sync.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    const expected = folder(300);
    for (const i of changed) expected.set(pathOf(i), body(i, 1));
    expected.set("d3/new.ts", "export const added = 1;\n");
    await assertExact(sourceId, expected);
    assert.deepEqual(dbx.zipPaths, ["/Big", "/Big/d3"], "the second zip holds only the changed folder");
    assert.equal(dbx.count("files/download") - downloads, 1, "only the bad entry downloaded alone");
    assert.equal(dbx.count("files/list_folder"), 1, "no listing for the incremental sync");
  });

  test("a source of the whole Dropbox zips each top-level folder (the root cannot be zipped) and downloads lone files alone", async () => {
    const dbx = await startFake(30);
    dbx.put("/top.md", "# top\n");
    const sourceId = await connect("/");
    const expected = new Map([...folder(30)].map(([p, c]) => [`Big/${p}`, c]));
    expected.set("Other/outside.md", "not in the source\n");
    expected.set("top.md", "# top\n");
    await assertExact(sourceId, expected);
    assert.deepEqual(dbx.zipPaths, ["/Big"]);
    assert.equal(dbx.count("files/download"), 2, "Other/outside.md and top.md");
  });
});
