import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { and, eq, sql } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { changes, files, syncJobs } from "@/lib/db/schema";
import { call, closeAll, db, operatorToken, resetDb, tempDir, waitFor, writeTree } from "./helpers";
import { childOutput } from "./child-output";

const roots = tempDir("dc-crash-roots-");
process.env.LOCAL_SOURCE_ROOTS = roots;
const FILES = 6000;

function spawnWorker(): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "worker/index.ts"], {
    env: { ...process.env, WORKER_WATCH: "false" },
    stdio: ["ignore", childOutput(), "inherit"],
  });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
  );

after(() => closeAll());

test(
  "a worker killed with SIGKILL mid-sync: the retry completes the job, the index is exact, nothing is delivered twice",
  { timeout: 180_000 },
  async () => {
    await resetDb();
    const token = await operatorToken();
    const folder = path.join(roots, "big");
    const tree: Record<string, string> = {};
    for (let i = 0; i < FILES; i++)
      tree[`pkg${i % 40}/file${i}.ts`] = `export const value${i} = ${i};\n`.repeat(1 + (i % 7));
    writeTree(folder, tree);

    const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "big", config: { path: folder } },
    });
    assert.equal(created.status, 201);
    const { jobId } = created.json;
    const sourceId = created.json.source.id;
    const job = async () => (await db().select().from(syncJobs).where(eq(syncJobs.id, jobId)))[0]!;

    const first = spawnWorker();
    try {
      await waitFor(async () => (await job()).filesProcessed >= 100, {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: "the sync to be under way",
      });
    } finally {
      first.kill("SIGKILL");
      await exited(first);
    }

    // Requests while the sync is unfinished become one follow-up job.
    const requests = [];
    for (let i = 0; i < 3; i++) {
      requests.push(
        (
          await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
            token,
            params: { id: sourceId },
            body: { type: "incremental" },
          })
        ).json,
      );
    }
    assert.equal(new Set(requests.map((r) => r.jobId)).size, 1);
    assert.notEqual(requests[0].jobId, jobId);
    assert.deepEqual(
      requests.map((r) => r.coalesced),
      [false, true, true],
    );

    const atKill = await job();
    assert.equal(atKill.status, "running", "the worker died in the middle of the sync");
    assert.ok(atKill.filesProcessed < FILES);

    const second = spawnWorker();
    try {
      const done = await waitFor(
        async () => {
          const rows = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
          return rows.length === 2 && rows.every((r) => r.status === "completed") ? rows : null;
        },
        { timeoutMs: 120_000, what: "both jobs to complete after the restart" },
      );
      assert.equal(
        done.find((r) => r.id === jobId)!.attempts,
        2,
        "the interrupted job was resumed, not restarted as a new one",
      );
    } finally {
      second.kill("SIGTERM");
      await exited(second);
    }

    const [{ count }] = (await db()
      .select({ count: sql<number>`count(*)::int` })
      .from(files)
      .where(eq(files.sourceId, sourceId))) as [{ count: number }];
    assert.equal(count, FILES);
    const delivered = and(eq(changes.sourceId, sourceId), eq(changes.status, "delivered"));
    const duplicates = await db()
      .select({ path: changes.path, n: sql<number>`count(*)::int` })
      .from(changes)
      .where(delivered)
      .groupBy(changes.path)
      .having(sql`count(*) > 1`);
    assert.deepEqual(duplicates, []);
    const [{ count: deliveredCount }] = (await db()
      .select({ count: sql<number>`count(*)::int` })
      .from(changes)
      .where(delivered)) as [{ count: number }];
    assert.equal(deliveredCount, FILES);
  },
);
