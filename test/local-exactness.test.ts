import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { eq, like, sql } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { chunks, fileContents, syncJobFailures } from "@/lib/db/schema";
import { localConnector } from "@/lib/connectors/local";
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
import { childOutput } from "./child-output";

// Root reads past file modes through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: as root the worker
// runs with both dropped from its bounding set, so a chmod 000 folder stops it as it would any
// user, while the Node binary and the checkout stay readable wherever they live (even under /root).
const roots = tempDir("dc-exact-roots-");
chmodSync(roots, 0o755);
process.env.LOCAL_SOURCE_ROOTS = roots;

function spawnWorker(): ChildProcess {
  const args = ["--import", "tsx", "worker/index.ts"];
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot
    ? ["setpriv", ["--bounding-set", "-dac_override,-dac_read_search", process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, {
    env: { ...process.env, WORKER_WATCH: "true" },
    stdio: ["ignore", childOutput(), "inherit"],
  });
  child.once("error", (error) => {
    throw new Error(`The worker could not start: ${error.message}`);
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
}

const TREE = {
  "a.ts": "export const a = 1;\n",
  "src/b.ts": "export const b = 2;\n",
  "src/deep/c.ts": "export const c = 3;\n",
  "docs/d.md": "# D\n",
};

describe("local sources, exactly", { timeout: 180_000 }, () => {
  let token: string;
  let worker: ChildProcess | null = null;
  before(async () => {
    await resetDb();
    token = await operatorToken();
  });
  after(async () => {
    if (worker) await stopWorker(worker);
    await closeAll();
  });

  async function connect(folder: string) {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: path.basename(folder), config: { path: folder } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    return res.json.source.id as string;
  }

  async function fullSync(sourceId: string) {
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full" },
    });
    assert.equal(res.status, 202);
    return waitForJob(res.json.jobId);
  }

  test("an unreadable folder is a recorded failure and keeps its files; an unreadable root fails the sync and keeps the index", async () => {
    worker ??= spawnWorker();
    const folder = path.join(roots, "modes");
    writeTree(folder, TREE);
    const sourceId = await connect(folder);
    const all = Object.keys(TREE).sort();
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), all);
    const sent = (await deliveries(sourceId)).length;
    try {
      chmodSync(path.join(folder, "src"), 0o000);
      const job = await fullSync(sourceId);
      assert.equal(job.status, "completed", job.errorMessage ?? "");
      const failures = await db().select().from(syncJobFailures).where(eq(syncJobFailures.jobId, job.id));
      assert.deepEqual(
        failures.map((f) => f.path),
        ["src"],
      );
      assert.match(failures[0]!.error, /EACCES/);
      assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), all);

      chmodSync(folder, 0o000);
      const failed = await fullSync(sourceId);
      assert.equal(failed.status, "failed");
      assert.match(failed.errorMessage ?? "", /Cannot read the source folder .*EACCES/);
      assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), all);
      assert.equal((await deliveries(sourceId)).length, sent, "nothing delivered");
    } finally {
      chmodSync(folder, 0o755);
      chmodSync(path.join(folder, "src"), 0o755);
    }
  });

  test("files changed while the worker is stopped are indexed within 60 s of its start, with no API call", async () => {
    worker ??= spawnWorker();
    const folder = path.join(roots, "offline");
    writeTree(folder, TREE);
    const sourceId = await connect(folder);
    await stopWorker(worker);
    const changed = "export const b = 'changed offline';\n";
    writeFileSync(path.join(folder, "src/b.ts"), changed);
    writeFileSync(path.join(folder, "docs/new.md"), "# New\n");
    unlinkSync(path.join(folder, "a.ts"));
    worker = spawnWorker();
    await waitFor(
      async () => {
        const rows = await indexed(sourceId);
        return rows.has("docs/new.md") && !rows.has("a.ts") && rows.get("src/b.ts")?.size === changed.length;
      },
      { timeoutMs: 60_000, what: "the offline changes in the index" },
    );
  });

  test("a symlink swapped in during a sync never yields content from outside the root", async () => {
    worker ??= spawnWorker();
    const outside = tempDir("dc-exact-outside-");
    chmodSync(outside, 0o755);
    const SECRET = "TOPSECRET-7f3a9c";
    writeFileSync(path.join(outside, "secret.ts"), `export const s = "${SECRET}";\n`);
    const folder = path.join(roots, "race");
    writeTree(folder, { "swap.ts": "export const plain = 1;\n", "other.ts": "export const o = 1;\n" });
    const sourceId = await connect(folder);
    // Another process swaps swap.ts between a regular file and a symlink to the secret, atomically:
    // as fast as it can while this process reads, then once a millisecond while the worker syncs
    // (a tight loop floods the worker's watcher with events faster than any folder sees them).
    const startSwapper = (pauseMs: number) =>
      spawn(
        process.execPath,
        [
          "-e",
          `const fs = require("fs"); const [dir, target, pause] = process.argv.slice(1);
           const swap = (i) => {
             const tmp = dir + "/.swap-" + (i % 2);
             try { fs.rmSync(tmp, { force: true }); } catch {}
             if (i % 2) fs.symlinkSync(target, tmp); else fs.writeFileSync(tmp, "export const plain = " + i + ";\\n");
             fs.renameSync(tmp, dir + "/swap.ts");
           };
           if (Number(pause) === 0) for (let i = 0; ; i++) swap(i);
           let i = 0; setInterval(() => swap(i++), Number(pause));`,
          folder,
          path.join(outside, "secret.ts"),
          String(pauseMs),
        ],
        { stdio: "ignore" },
      );
    let swapper = startSwapper(0);
    try {
      const connector = localConnector.create({ sourceId: null, config: { path: folder } });
      let plain = 0;
      for (let i = 0; i < 3000; i++) {
        const content = await connector.getFileContent("swap.ts").catch(() => null);
        if (content) plain++;
        assert.ok(!content?.toString().includes(SECRET), `read ${i} returned the secret`);
      }
      assert.ok(plain > 0, "some reads saw the regular file");
      swapper.kill("SIGKILL");
      swapper = startSwapper(1);
      for (let i = 0; i < 5; i++) assert.equal((await fullSync(sourceId)).status, "completed");
    } finally {
      swapper.kill("SIGKILL");
    }
    const leaked = await db()
      .select({ fileId: chunks.fileId })
      .from(chunks)
      .where(like(sql`array_to_string(${chunks.contents}, '')`, `%${SECRET}%`));
    assert.equal(leaked.length, 0, "no chunk holds the secret");
    // The embedded pipeline's chunks read their text from the stored contents.
    const stored = await db().select({ content: fileContents.content }).from(fileContents);
    assert.ok(stored.length > 0);
    for (const { content } of stored)
      assert.ok(!gunzipSync(content).includes(SECRET), "no stored content holds the secret");
    // A symlink left pointing outside is not indexed at all.
    renameSync(path.join(folder, "swap.ts"), path.join(folder, "gone.ts"));
    unlinkSync(path.join(folder, "gone.ts"));
    symlinkSync(path.join(outside, "secret.ts"), path.join(folder, "swap.ts"));
    assert.equal((await fullSync(sourceId)).status, "completed");
    assert.equal((await indexed(sourceId)).has("swap.ts"), false);
  });
});
