import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { sql } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { startPipelineFake } from "./fakes/pipeline-server";
import { startWorkerProcess, stopProcess } from "./fakes/worker-process";
import { call, closeAll, db, operatorToken, resetDb, tempDir, writeTreeAtomically } from "./helpers";
import {
  assertDeliveredExactly,
  assertIndexEquals,
  expectedKeys,
  folderIndex,
  overlaps,
  syncRunIntervals,
  waitForIdle,
  writeCorpus,
} from "./prove-helpers";

// Several worker processes on one PostgreSQL sync several sources at once.
const roots = tempDir("dc-scale-roots-");
process.env.LOCAL_SOURCE_ROOTS = roots;
const SOURCES = 8;
const FILES = 150; // under the fan-out threshold: each source's files are delivered by the worker running its sync
const BIG = 900; // fanned out: its batches may run on any worker
const WORKERS = 3;

after(() => closeAll());

test(
  "three workers, nine sources, two rounds: every file version delivered once, no source synced by two workers at once",
  { timeout: 240_000 },
  async () => {
    await resetDb();
    const token = await operatorToken();
    const fake = await startPipelineFake();
    const workers: ChildProcess[] = [];
    try {
      const folders: string[] = [];
      const ids: string[] = [];
      for (let s = 0; s <= SOURCES; s++) {
        const folder = path.join(roots, `s${s}`);
        writeCorpus(folder, s === SOURCES ? BIG : FILES, `s${s}-`);
        folders.push(folder);
        const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
          token,
          body: { type: "local", name: `s${s}`, config: { path: folder } },
        });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        ids.push(res.json.source.id);
      }
      // The first versions may be delivered (if a sync reads them before they change) or not.
      const allowed = new Set<string>();
      for (let s = 0; s <= SOURCES; s++)
        for (const k of expectedKeys(ids[s]!, folderIndex(folders[s]!))) allowed.add(k);

      // A sampler that looks for two active sync-source jobs of one source, every 20 ms.
      let sampling = true;
      const doubleRuns: string[] = [];
      const sampler = (async () => {
        while (sampling) {
          const rows = await db().execute<{ key: string; n: number }>(
            sql`select singleton_key as key, count(*)::int as n from pgboss.job where name = 'sync-source' and state = 'active' group by 1 having count(*) > 1`,
          );
          doubleRuns.push(...rows.rows.map((r) => r.key));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      // The workers start together and compete for the nine queued syncs.
      workers.push(
        ...(await Promise.all(
          Array.from({ length: WORKERS }, (_, w) =>
            startWorkerProcess({ ...fake.envFor(`w${w}`), WORKER_CONCURRENCY: "2" }),
          ),
        )),
      );

      // Second round while the first runs: change a third of every folder and ask for syncs
      // (requests fold into the one follow-up per source).
      await new Promise((r) => setTimeout(r, 500));
      for (let s = 0; s <= SOURCES; s++) {
        const changed: Record<string, string> = {};
        for (let i = 0; i < (s === SOURCES ? BIG : FILES); i += 3)
          changed[`pkg${i % 12}/file${i}.ts`] = `export const changed${i} = ${s};\n`;
        writeTreeAtomically(folders[s]!, changed);
        for (let r = 0; r < 3; r++) {
          const res = await call(syncRoute.POST, "POST", `/api/sources/${ids[s]}/sync`, {
            token,
            params: { id: ids[s]! },
            body: { type: "full" },
          });
          assert.equal(res.status, 202);
        }
      }
      const required = new Set<string>();
      for (let s = 0; s <= SOURCES; s++)
        for (const k of expectedKeys(ids[s]!, folderIndex(folders[s]!))) required.add(k);

      const jobs = await waitForIdle(ids, 200_000);
      sampling = false;
      await sampler;
      assert.ok(
        jobs.every((j) => j.status === "completed"),
        JSON.stringify(jobs.filter((j) => j.status !== "completed")),
      );
      for (let s = 0; s <= SOURCES; s++) await assertIndexEquals(ids[s]!, folderIndex(folders[s]!), `source s${s}`);

      // The final version of every file reached the last stage, and no request repeated a key:
      // without faults nothing is delivered twice, not even idempotently.
      const { repeats } = assertDeliveredExactly(fake, required, allowed);
      assert.equal(repeats, 0);
      for (const [id, n] of fake.accepted) assert.equal(n, 1, `${id} accepted ${n} times`);

      // No source was synced by two workers at once: pg-boss's run intervals per source do not
      // overlap, the sampler never saw two, and (sources below the fan-out threshold) the
      // deliveries of each worker for one source form disjoint intervals.
      assert.deepEqual(doubleRuns, []);
      const runs = await syncRunIntervals();
      for (const id of ids) {
        assert.ok((runs.get(id)?.length ?? 0) >= 1, "pg-boss kept the runs");
        assert.deepEqual(overlaps(runs.get(id)!), [], `sync-source runs of ${id}`);
      }
      const tagsUsed = new Set<string>();
      for (const id of ids.slice(0, SOURCES)) {
        const byTag = new Map<string, { start: number; end: number; label: string }>();
        for (const r of fake.requests.filter((q) => q.body.sourceId === id)) {
          tagsUsed.add(r.tag!);
          const span = byTag.get(r.tag!) ?? { start: r.at, end: r.at, label: r.tag! };
          span.start = Math.min(span.start, r.at);
          span.end = Math.max(span.end, r.at);
          byTag.set(r.tag!, span);
        }
        assert.deepEqual(overlaps([...byTag.values()]), [], `deliveries of source ${id} by worker`);
      }
      assert.equal(tagsUsed.size, WORKERS, "every worker synced some source");
      // The workers ran syncs at the same time (the point of scaling out).
      const all = [...runs.values()].flat().sort((a, b) => a.start - b.start);
      const concurrentPairs = all.filter((a, i) => all.slice(i + 1).some((b) => b.start < a.end)).length;
      assert.ok(concurrentPairs > 0, "syncs of different sources overlapped in time");
    } finally {
      await Promise.all(workers.map((w) => stopProcess(w)));
      await fake.close();
    }
  },
);
