import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { and, eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as contentRoute from "@/app/api/sources/[id]/files/content/route";
import { syncJobBatches, syncJobs } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { buildLocalTree, EXPECTED_FILES } from "./fixtures/local-tree";
import { startPipelineFake } from "./fakes/pipeline-server";
import {
  call,
  closeAll,
  db,
  deliveries,
  indexed,
  operatorToken,
  resetDb,
  tempDir,
  waitFor,
  waitForJob,
  writeTree,
} from "./helpers";

const rootsDir = tempDir("dc-roots-");
const outside = tempDir("dc-outside-");
process.env.LOCAL_SOURCE_ROOTS = rootsDir;

let worker: RunningWorker;
let token: string;
let folder: string;

async function connect(name = "demo") {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "local", name, config: { path: folder } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return res.json.source.id as string;
}

const sha256 = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("local sources", () => {
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
    folder = tempDir("dc-src-");
    rmSync(folder, { recursive: true });
    folder = path.join(rootsDir, path.basename(folder));
    buildLocalTree(folder, outside);
  });

  test("a full sync indexes exactly the kept files, each delivered once (embedded pipeline)", async () => {
    const sourceId = await connect();
    const rows = await indexed(sourceId);
    assert.deepEqual([...rows.keys()].sort(), Object.keys(EXPECTED_FILES).sort());
    for (const [p, language] of Object.entries(EXPECTED_FILES)) {
      const row = rows.get(p)!;
      assert.equal(row.language, language, p);
      assert.equal(row.sha, sha256(path.join(folder, p)), p);
      assert.equal(row.size, readFileSync(path.join(folder, p)).length, p);
    }
    const sent = await deliveries(sourceId);
    assert.deepEqual(sent.map((d) => d.path).sort(), Object.keys(EXPECTED_FILES).sort());
    assert.ok(sent.every((d) => d.op === "upsert"));

    const res = await call(contentRoute.GET, "GET", `/api/sources/${sourceId}/files/content?path=src/util.py`, {
      token,
      params: { id: sourceId },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.content, "def add(a, b):\n    return a + b\n", "line endings normalized");
    const long = await call(contentRoute.GET, "GET", `/api/sources/${sourceId}/files/content?path=src/index.ts`, {
      token,
      params: { id: sourceId },
    });
    assert.equal(long.json.content, readFileSync(path.join(folder, "src/index.ts"), "utf8"));
    assert.ok(long.json.chunks.length >= 3, "a 150-line file is cut into several chunks");
  });

  test("a full sync delivers each kept file exactly once to HTTP stages, with idempotency keys", async () => {
    const fake = await startPipelineFake();
    Object.assign(process.env, fake.env);
    try {
      const sourceId = await connect();
      const stored = fake.delivered("/store");
      assert.deepEqual(stored.map((r) => r.body.path).sort(), Object.keys(EXPECTED_FILES).sort());
      assert.equal(new Set(stored.map((r) => r.key)).size, stored.length);
      for (const stage of ["normalize", "chunk", "embed", "graph"]) {
        assert.equal(fake.requests.filter((r) => r.stage === stage).length, Object.keys(EXPECTED_FILES).length, stage);
      }
      assert.equal((await indexed(sourceId)).size, Object.keys(EXPECTED_FILES).length);
    } finally {
      for (const key of Object.keys(fake.env)) delete process.env[key];
      await fake.close();
    }
  });

  test("POST /api/sources/:id/sync incremental delivers one update, one delete and one add", async () => {
    const sourceId = await connect();
    const before = await deliveries(sourceId);
    writeFileSync(path.join(folder, "src/util.py"), "def add(a, b):\n    return b + a\n");
    unlinkSync(path.join(folder, "docs/notes.md"));
    writeFileSync(path.join(folder, "src/new.rs"), "fn main() {}\n");
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    assert.equal(res.status, 202);
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed");
    const sent = (await deliveries(sourceId))
      .slice(before.length)
      .map((d) => `${d.op} ${d.path}`)
      .sort();
    assert.deepEqual(sent, ["delete docs/notes.md", "upsert src/new.rs", "upsert src/util.py"]);
    const rows = await indexed(sourceId);
    assert.equal(rows.has("docs/notes.md"), false);
    assert.equal(rows.get("src/new.rs")?.language, "rust");
    assert.equal(rows.get("src/util.py")?.sha, sha256(path.join(folder, "src/util.py")));
    assert.equal(rows.size, Object.keys(EXPECTED_FILES).length);
  });

  test("a large sync fans out to process-file-batch jobs; a file that turns binary leaves the index", async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 450; i++) tree[`many/m${i}.ts`] = `export const m${i} = ${i};\n`;
    writeTree(folder, tree);
    const sourceId = await connect();
    const [first] = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
    const batches = await db().select().from(syncJobBatches).where(eq(syncJobBatches.jobId, first!.id));
    assert.ok(batches.length >= 5, `the sync was split into batches (${batches.length})`);
    assert.ok(batches.every((b) => b.status === "done"));
    const expected = Object.keys(EXPECTED_FILES).length + 450;
    assert.equal((await indexed(sourceId)).size, expected);
    const sent = await deliveries(sourceId);
    assert.equal(sent.length, expected);
    assert.equal(new Set(sent.map((d) => d.path)).size, expected, "no file delivered twice");
    assert.equal(first!.filesProcessed + first!.filesSkipped + first!.filesFailed, first!.filesTotal);

    writeFileSync(path.join(folder, "many/m7.ts"), Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00]));
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed");
    assert.equal((await indexed(sourceId)).has("many/m7.ts"), false);
    const after = (await deliveries(sourceId)).slice(sent.length).map((d) => `${d.op} ${d.path}`);
    assert.deepEqual(after, ["delete many/m7.ts"]);
  });

  test("the watcher queues an incremental sync that brings an edit, a delete and an add", async () => {
    const sourceId = await connect();
    const watching = await startWorker({ watch: true });
    try {
      const before = await deliveries(sourceId);
      writeFileSync(path.join(folder, "lib/main.go"), "package main\n\nfunc main() {}\n");
      unlinkSync(path.join(folder, "README.md"));
      writeFileSync(path.join(folder, "docs/added.md"), "# Added\n");
      await waitFor(
        async () => {
          const sent = (await deliveries(sourceId)).slice(before.length);
          return sent.length >= 3 ? sent : null;
        },
        { what: "the watcher's sync to deliver three changes" },
      );
      const [job] = await db()
        .select()
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "watcher")));
      assert.ok(job, "a job triggered by the watcher");
      await waitForJob(job.id);
      const sent = (await deliveries(sourceId))
        .slice(before.length)
        .map((d) => `${d.op} ${d.path}`)
        .sort();
      assert.deepEqual(sent, ["delete README.md", "upsert docs/added.md", "upsert lib/main.go"]);
      const rows = await indexed(sourceId);
      assert.equal(rows.has("README.md"), false);
      assert.equal(rows.get("lib/main.go")?.sha, sha256(path.join(folder, "lib/main.go")));
    } finally {
      await watching.stop();
    }
  });
});
