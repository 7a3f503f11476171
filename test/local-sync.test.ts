import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type FSWatcher,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  watch,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { and, eq, sql } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as contentRoute from "@/app/api/sources/[id]/files/content/route";
import { syncJobBatches, syncJobFailures, syncJobs } from "@/lib/db/schema";
import { LocalWatcher } from "@/lib/queue/local-watcher";
import { chunkText } from "@/lib/pipeline/chunk";
import { normalizeText } from "@/lib/pipeline/normalize";
import { requestSync } from "@/lib/queue/request-sync";
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
  withEnv,
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

  test("files named like an object's own properties (constructor, __proto__, toString) are indexed with no language", async () => {
    const named = ["constructor", "__proto__", "src/toString", "lib/x.constructor", "lib/y.__proto__", "lib/z.valueOf"];
    writeTree(folder, Object.fromEntries(named.map((p) => [p, `content of ${p}\n`])));
    const rows = await indexed(await connect());
    for (const p of named) {
      assert.ok(rows.has(p), `${p} is indexed`);
      assert.equal(rows.get(p)!.language, null, `${p} has no language`);
    }
    assert.equal(rows.get("src/index.ts")?.language, "typescript", "other files keep theirs");
  });

  test("a file's chunks are one row of line ranges, rewritten only when they change; the text is stored once", async () => {
    const sourceId = await connect();
    const file = path.join(folder, "src/index.ts");
    const stored = async () => {
      const result = await db().execute<{
        start_lines: number[];
        end_lines: number[];
        contents: string[] | null;
        version: string;
      }>(
        sql`select c.start_lines, c.end_lines, c.contents, c.xmin::text as version from chunks c
            join files f on f.id = c.file_id where f.source_id = ${sourceId} and f.path = 'src/index.ts'`,
      );
      return result.rows;
    };
    const expected = (text: string) =>
      chunkText(normalizeText(Buffer.from(text))).map((c) => [c.ordinal, c.startLine, c.endLine, c.content]);
    // The embedded pipeline's chunks are lines of the stored content: the row holds no text, and
    // the API reads each chunk's text from that content.
    const served = async () => {
      const [row] = await stored();
      assert.equal(row!.contents, null, "the chunk row holds no text");
      const res = await call(contentRoute.GET, "GET", `/api/sources/${sourceId}/files/content?path=src/index.ts`, {
        token,
        params: { id: sourceId },
      });
      assert.equal(res.status, 200);
      assert.equal(res.json.content, normalizeText(readFileSync(file)));
      const chunks = res.json.chunks as { ordinal: number; startLine: number; endLine: number; content: string }[];
      assert.deepEqual(
        row!.start_lines,
        chunks.map((c) => c.startLine),
      );
      assert.deepEqual(
        row!.end_lines,
        chunks.map((c) => c.endLine),
      );
      return chunks.map((c) => [c.ordinal, c.startLine, c.endLine, c.content]);
    };
    const sync = async () => {
      const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
        token,
        params: { id: sourceId },
        body: { type: "incremental" },
      });
      assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    };
    const [first] = await stored();
    assert.ok(first!.start_lines.length >= 3);
    assert.deepEqual(await served(), expected(readFileSync(file, "utf8")));

    // An edit within a line keeps every range: the row is not rewritten, the text served is new.
    writeFileSync(file, readFileSync(file, "utf8").replace("export", "EXPORT"));
    await sync();
    assert.deepEqual(await served(), expected(readFileSync(file, "utf8")));
    assert.equal((await stored())[0]!.version, first!.version, "same ranges, same row version");

    writeFileSync(file, readFileSync(file, "utf8") + "export const appended = 1;\n");
    await sync();
    assert.deepEqual(await served(), expected(readFileSync(file, "utf8")));
    assert.notEqual((await stored())[0]!.version, first!.version, "new ranges, row rewritten");

    writeFileSync(file, "export const small = 1;\n");
    await sync();
    assert.deepEqual(await served(), expected("export const small = 1;\n"));
    writeFileSync(file, "");
    await sync();
    assert.deepEqual(await stored(), [], "an empty file keeps no chunks");
  });

  test("a delivered version's stored content, which its chunks read, outlives a deleted file of the same content", async () => {
    const text = "export const solo = 1;\n".repeat(100);
    writeFileSync(path.join(folder, "src/solo.ts"), text);
    writeFileSync(path.join(folder, "src/twin.ts"), text);
    const sourceId = await connect();
    // src/solo.ts indexed at a newer version not delivered yet: its chunks still read the old one.
    await db().execute(
      sql`update files set sha = ${"f".repeat(64)} where source_id = ${sourceId} and path = 'src/solo.ts'`,
    );
    unlinkSync(path.join(folder, "src/twin.ts"));
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    assert.equal((await waitForJob(res.json.jobId)).status, "completed");
    assert.equal((await indexed(sourceId)).has("src/twin.ts"), false);
    const served = await call(contentRoute.GET, "GET", `/api/sources/${sourceId}/files/content?path=src/solo.ts`, {
      token,
      params: { id: sourceId },
    });
    assert.equal(served.status, 200, JSON.stringify(served.json));
    assert.equal(served.json.content, text);
    assert.equal(served.json.chunks[0].content, text.split("\n").slice(0, served.json.chunks[0].endLine).join("\n"));
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
      // A chunk stage's chunks are its own: stored with their text.
      const text = await db().execute<{ with_text: number; without: number }>(
        sql`select count(*) filter (where c.contents is not null)::int as with_text, count(*) filter (where c.contents is null)::int as without
            from chunks c join files f on f.id = c.file_id where f.source_id = ${sourceId}`,
      );
      assert.deepEqual(text.rows[0], { with_text: Object.keys(EXPECTED_FILES).length, without: 0 });
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
    // Batches of 100 files, so that these 450 make several.
    const sourceId = await withEnv({ SYNC_BATCH_FILES: "100" }, connect);
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

  test("a batch closes at SYNC_BATCH_BYTES of content as at SYNC_BATCH_FILES files, and the sync ends exact", async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 300; i++) tree[`big/b${i}.txt`] = `${i}\n`.padEnd(2048, "x");
    writeTree(folder, tree);
    const limit = 64 * 1024;
    const sourceId = await withEnv({ SYNC_BATCH_BYTES: String(limit) }, connect);
    const [first] = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
    const batches = await db().select().from(syncJobBatches).where(eq(syncJobBatches.jobId, first!.id));
    assert.ok(batches.length >= 9, `300 files of 2 KiB in batches of 64 KiB (${batches.length} batches)`);
    const bytes = (b: (typeof batches)[number]) => b.files.reduce((sum, f) => sum + (f.size ?? 0), 0);
    for (const b of batches) {
      const last = b.files.at(-1)!.size ?? 0;
      assert.ok(bytes(b) - last < limit, `batch ${b.batchNo} closed at the file that reached the limit`);
    }
    assert.ok(batches.reduce((n, b) => n + b.files.length, 0) >= 300, "every changed file is in a batch");
    const expected = Object.keys(EXPECTED_FILES).length + 300;
    assert.equal((await indexed(sourceId)).size, expected);
    const sent = await deliveries(sourceId);
    assert.equal(new Set(sent.map((d) => d.path)).size, expected, "every file delivered");
    assert.equal(sent.length, expected, "none twice");
  });

  test("a large first sync fans its batches out while the listing goes on, in groups, and ends exact", async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 2500; i++) tree[`bulk/d${i % 25}/b${i}.ts`] = `export const b${i} = ${i};\n`;
    writeTree(folder, tree);
    const sourceId = await connect();
    const [first] = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
    const batches = await db().select().from(syncJobBatches).where(eq(syncJobBatches.jobId, first!.id));
    // Each group of batches commits in its own transaction (created_at is its start).
    const groups = new Set(batches.map((b) => b.createdAt.getTime()));
    assert.ok(groups.size >= 2, `batches were enqueued in ${groups.size} group(s)`);
    assert.deepEqual(
      batches.map((b) => b.batchNo).sort((a, b) => a - b),
      batches.map((_, i) => i),
      "batch numbers run on across the groups",
    );
    assert.ok(batches.every((b) => b.status === "done"));
    const expected = Object.keys(EXPECTED_FILES).length + 2500;
    assert.equal((await indexed(sourceId)).size, expected);
    const sent = await deliveries(sourceId);
    assert.equal(new Set(sent.map((d) => d.path)).size, expected, "every file delivered");
    assert.equal(sent.length, expected, "no file delivered twice");
    assert.equal(first!.filesTotal, expected + first!.filesSkipped);
    assert.equal(first!.filesProcessed + first!.filesSkipped + first!.filesFailed, first!.filesTotal);
  });

  async function fullSync(sourceId: string) {
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full" },
    });
    assert.equal(res.status, 202);
    return waitForJob(res.json.jobId);
  }

  const failuresOf = (jobId: string) => db().select().from(syncJobFailures).where(eq(syncJobFailures.jobId, jobId));

  test("a same-size edit within one mtime tick is indexed (ctime and inode are compared too)", async () => {
    const sourceId = await connect();
    const file = path.join(folder, "lib/main.go");
    const { atimeMs, mtimeMs, size } = statSync(file);
    const edited = readFileSync(file, "utf8").replace("hi", "ho");
    writeFileSync(file, edited);
    // Back to the same mtime at the precision the old version compared (milliseconds).
    utimesSync(file, atimeMs / 1000, mtimeMs / 1000);
    assert.equal(Math.trunc(statSync(file).mtimeMs), Math.trunc(mtimeMs));
    assert.equal(statSync(file).size, size);
    const job = await fullSync(sourceId);
    assert.equal(job.status, "completed");
    assert.equal((await indexed(sourceId)).get("lib/main.go")?.sha, sha256(file));
  });

  test("a name that is not valid UTF-8 is a recorded failure, not a silent skip", async () => {
    const sourceId = await connect();
    writeFileSync(
      Buffer.concat([Buffer.from(`${folder}/src/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from(".ts")]),
      "x\n",
    );
    const job = await fullSync(sourceId);
    assert.equal(job.status, "completed");
    assert.equal(job.filesFailed, 1);
    const failures = await failuresOf(job.id);
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.path, /^src\/bad-/);
    assert.match(failures[0]!.error, /not valid UTF-8/);
    assert.equal((await indexed(sourceId)).size, Object.keys(EXPECTED_FILES).length);
  });

  test("a symlinked folder is no part of the tree, whether a full sync or the watcher's paths reach it", async () => {
    const sourceId = await connect();
    symlinkSync(".", path.join(folder, "self"));
    symlinkSync(path.join(folder, "src"), path.join(folder, "src-link"));
    const named = await requestSync({
      sourceId,
      type: "incremental",
      trigger: "watcher",
      paths: ["self", "self/README.md", "self/src/index.ts", "src-link/util.py", "src-link"],
    });
    assert.equal((await waitForJob(named.jobId)).status, "completed");
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), Object.keys(EXPECTED_FILES).sort());
    assert.equal((await fullSync(sourceId)).status, "completed");
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), Object.keys(EXPECTED_FILES).sort());
  });

  test("a file rewritten every 100 ms does not hold off another file's sync beyond 5 s", async () => {
    const sourceId = await connect();
    const watcher = new LocalWatcher();
    await watcher.refresh();
    let n = 0;
    const hot = setInterval(() => writeFileSync(path.join(folder, "hot.ts"), `export const n = ${n++};\n`), 100);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const written = Date.now();
      writeFileSync(path.join(folder, "docs/other.md"), "# Other\n");
      const job = await waitFor(
        async () => {
          const rows = await db()
            .select()
            .from(syncJobs)
            .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "watcher")));
          return rows.find((r) => r.paths?.includes("docs/other.md"));
        },
        { timeoutMs: 15_000, what: "a watcher sync naming docs/other.md" },
      );
      assert.ok(job.createdAt.getTime() - written <= 5_500, `queued ${job.createdAt.getTime() - written} ms after`);
      await waitFor(async () => (await indexed(sourceId)).has("docs/other.md"), { what: "docs/other.md indexed" });
    } finally {
      clearInterval(hot);
      watcher.stop();
    }
  });

  test("a watcher that fails is attached again and its source reconciled", async () => {
    const sourceId = await connect();
    const made: FSWatcher[] = [];
    const watcher = new LocalWatcher({
      watch: (root) => {
        const w = watch(root, { recursive: true });
        made.push(w);
        return w;
      },
    });
    await watcher.refresh();
    try {
      assert.equal(made.length, 1);
      // The failed watcher hears nothing more; what changes meanwhile only a reconcile finds.
      made[0]!.close();
      writeFileSync(path.join(folder, "src/missed.ts"), "export const missed = true;\n");
      made[0]!.emit("error", new Error("ENOSPC: System limit for number of file watchers reached"));
      await waitFor(async () => (await indexed(sourceId)).has("src/missed.ts"), {
        what: "the reconcile to index the missed file",
      });
      assert.equal(made.length, 2, "a new watcher");
      writeFileSync(path.join(folder, "docs/heard.md"), "# Heard\n");
      await waitFor(async () => (await indexed(sourceId)).has("docs/heard.md"), {
        what: "the new watcher's sync",
      });
    } finally {
      watcher.stop();
    }
  });

  test("the periodic reconcile (LOCAL_RECONCILE_INTERVAL) indexes what no watcher reported", async () => {
    const sourceId = await connect();
    // A watcher that hears nothing, as when the kernel drops events.
    const watcher = new LocalWatcher({
      reconcileMs: 1000,
      watch: (root) => {
        const deaf = watch(root, { recursive: true });
        deaf.close();
        return deaf;
      },
    });
    await watcher.start();
    try {
      const written = new Date();
      writeFileSync(path.join(folder, "docs/unheard.md"), "# Unheard\n");
      const reconcile = await waitFor(
        async () => {
          const rows = await db()
            .select()
            .from(syncJobs)
            .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "schedule")));
          return rows.find((r) => r.type === "full" && r.createdAt > written);
        },
        { what: "a periodic reconcile after the write" },
      );
      assert.equal((await waitForJob(reconcile.id)).status, "completed");
      assert.ok((await indexed(sourceId)).has("docs/unheard.md"));
    } finally {
      watcher.stop();
    }
  });

  test("the watcher queues an incremental sync that brings an edit, a delete and an add", async () => {
    const sourceId = await connect();
    const watching = await startWorker({ watch: true });
    try {
      // The reconcile every worker start queues finds nothing to do; the watcher takes it from there.
      const reconcile = await waitFor(async () => {
        const [row] = await db()
          .select()
          .from(syncJobs)
          .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "schedule")));
        return row;
      });
      await waitForJob(reconcile.id);
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
