import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import { closeDb } from "@/lib/db/client";
import { runMigrations } from "@/lib/db/migrate";
import { syncJobs } from "@/lib/db/schema";
import { startPipelineFake } from "./fakes/pipeline-server";
import { privatePostgresAvailable, startPrivatePostgres } from "./fakes/private-postgres";
import { startWorkerProcess, stopProcess } from "./fakes/worker-process";
import { call, closeAll, db, operatorToken, tempDir, waitFor } from "./helpers";
import { assertDeliveredExactly, assertIndexEquals, expectedKeys, folderIndex, writeCorpus } from "./prove-helpers";

// PostgreSQL restarted mid-sync. The shared server must not be restarted,
// so this test runs its own cluster (initdb + pg_ctl of the installed PostgreSQL binaries; as
// root, as the postgres OS user). It does not use the suite's database at all, so it runs the
// same whether the suite runs against a server or the embedded PostgreSQL.
const roots = tempDir("dc-pgrestart-roots-");
process.env.LOCAL_SOURCE_ROOTS = roots;
const unavailable = privatePostgresAvailable();

after(() => closeAll());

test(
  "PostgreSQL restarted twice mid-sync (clean, then crash): the worker reconnects, the job completes, the index is exact",
  { timeout: 600_000, skip: unavailable ?? false },
  async () => {
    const cluster = await startPrivatePostgres();
    const fake = await startPipelineFake();
    let worker: ChildProcess | null = null;
    try {
      // Everything of this test process speaks to the private cluster.
      await closeDb();
      process.env.DATABASE_URL = cluster.url;
      await runMigrations(cluster.url);
      const token = await operatorToken();
      const folder = path.join(roots, "big");
      writeCorpus(folder, 3000, "pg");
      const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "local", name: "big", config: { path: folder } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const { jobId } = created.json;
      const sourceId = created.json.source.id as string;
      // While the server is down the checks themselves fail: that is "not yet".
      const job = async () =>
        (
          await db()
            .select()
            .from(syncJobs)
            .where(eq(syncJobs.id, jobId))
            .catch(() => [])
        )[0];

      worker = await startWorkerProcess({ ...fake.env, DATABASE_URL: cluster.url });
      await waitFor(async () => ((await job())?.filesProcessed ?? 0) >= 300, {
        timeoutMs: 90_000,
        intervalMs: 10,
        what: "the sync to be under way",
      });
      cluster.restart("fast");
      const atFirst = (await waitFor(job, { what: "the database back" }))!;
      assert.ok(atFirst.filesProcessed < 3000, "restarted in the middle");
      await waitFor(async () => ((await job())?.filesProcessed ?? 0) >= atFirst.filesProcessed + 300, {
        timeoutMs: 120_000,
        intervalMs: 10,
        what: "the sync to go on after the restart",
      });
      cluster.restart("immediate");

      const done = await waitFor(
        async () => {
          const j = await job();
          return j && ["completed", "failed"].includes(j.status) ? j : null;
          // Generous: an attempt that failed on the dropped connections waits out pg-boss's backoff.
        },
        { timeoutMs: 480_000, intervalMs: 200, what: "the job to finish" },
      );
      assert.equal(done.status, "completed", done.errorMessage ?? "");
      // Whether the sync attempt itself or only some of its batches failed and were retried
      // depends on which queries the restarts cut off; either way the job completes.
      const index = folderIndex(folder);
      await assertIndexEquals(sourceId, index);
      const { repeats } = assertDeliveredExactly(fake, new Set(expectedKeys(sourceId, index)));
      for (const [, keys] of fake.ledger().keysByPath) assert.equal(keys.size, 1);
      console.log(`[pg-restart] ${done.attempts} attempts, ${repeats} requests repeated a key (at least once)`);
    } finally {
      if (worker) await stopProcess(worker, "SIGKILL");
      await fake.close();
      await closeAll();
      cluster.destroy();
    }
  },
);
