import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { sources, syncJobs } from "@/lib/db/schema";
import { createPipeline, idempotencyKey, pipelineStagesFromEnv } from "@/lib/pipeline/deliver";
import { syncQueue } from "@/lib/queue/sync-queue";
import { handleSyncSource } from "@/lib/sync/handle-sync-source";
import { startPipelineFake } from "./fakes/pipeline-server";
import { call, closeAll, db, operatorToken, resetDb, tempDir } from "./helpers";

// POST /api/sources/:id/sync {"type": "redeliver"}: its own job that hands every indexed file
// to the pipeline again under a new generation, so that consumers apply the replay.

const root = tempDir("dc-redeliver-roots-");
process.env.LOCAL_SOURCE_ROOTS = root;
const FAST = { attempts: 5, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 };
const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const keyOf = (...parts: string[]) => createHash("sha256").update(parts.join("\0")).digest("hex");

let fake: Awaited<ReturnType<typeof startPipelineFake>>;
let pipeline: ReturnType<typeof createPipeline>;

async function localSource(files: Record<string, string>): Promise<string> {
  const folder = path.join(root, `s${Math.random().toString(36).slice(2)}`);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
    writeFileSync(path.join(folder, rel), content);
  }
  const [source] = await db()
    .insert(sources)
    .values({ type: "local", name: "redeliver", config: { path: folder } })
    .returning();
  return source!.id;
}

async function job(id: string) {
  const [row] = await db().select().from(syncJobs).where(eq(syncJobs.id, id));
  return row!;
}

/** Runs the source's queued jobs as the worker's sync-source handler would. */
const drain = (sourceId: string) => handleSyncSource(sourceId, { retryCount: 0, retryLimit: 0 }, syncQueue, pipeline);

/** The keys the last stage received for upserts, by path. */
function storedKeys(sourceId: string, since = 0): Map<string, string> {
  return new Map(
    fake
      .delivered("/store")
      .slice(since)
      .filter((r) => r.body.sourceId === sourceId)
      .map((r) => [String(r.body.path), r.key]),
  );
}

describe("redelivery", () => {
  let token: string;
  before(async () => {
    fake = await startPipelineFake();
    pipeline = createPipeline(pipelineStagesFromEnv(fake.env as unknown as NodeJS.ProcessEnv), FAST);
  });
  beforeEach(async () => {
    await resetDb();
    fake.requests.length = 0;
    token = await operatorToken();
  });
  after(async () => {
    await fake.close();
    await closeAll();
  });

  test("POST /api/sources/:id/sync {type: redeliver} delivers every file again with new keys, generation after generation", async () => {
    const files = { "a.ts": "alpha", "dir/b.py": "beta", "c.md": "gamma" };
    const id = await localSource(files);
    const [first] = await db().insert(syncJobs).values({ sourceId: id, type: "full", trigger: "manual" }).returning();
    await drain(id);
    assert.equal((await job(first!.id)).status, "completed");
    const synced = storedKeys(id);
    for (const [p, text] of Object.entries(files)) {
      assert.equal(synced.get(p), keyOf(id, p, sha(text)), "a sync's key stays sha256(source, path, sha)");
    }

    const res = await call(syncRoute.POST, "POST", `/api/sources/${id}/sync`, {
      token,
      params: { id },
      body: { type: "redeliver" },
    });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const jobId = res.json.jobId as string;
    assert.notEqual(jobId, first!.id);
    // A sync asked for meanwhile is its own job: never folded into the redelivery.
    const again = await call(syncRoute.POST, "POST", `/api/sources/${id}/sync`, {
      token,
      params: { id },
      body: { type: "redeliver" },
    });
    assert.equal(again.json.jobId, jobId, "a waiting redelivery answers a second request");
    const sync = await call(syncRoute.POST, "POST", `/api/sources/${id}/sync`, {
      token,
      params: { id },
      body: { type: "incremental" },
    });
    assert.notEqual(sync.json.jobId, jobId);
    assert.equal((await job(jobId)).type, "redeliver");

    const before = fake.delivered("/store").length;
    fake.failNext(2); // retried requests keep their key
    await drain(id);
    const done = await job(jobId);
    assert.equal(done.status, "completed");
    assert.equal(done.progress, 100);
    assert.deepEqual([done.filesTotal, done.filesProcessed, done.filesFailed], [3, 3, 0]);
    const replay = storedKeys(id, before);
    assert.equal(replay.size, 3, "every indexed file reached the pipeline again");
    for (const [p, text] of Object.entries(files)) {
      assert.equal(replay.get(p), keyOf(id, p, sha(text), "1"), "generation 1 is part of the key");
      assert.notEqual(replay.get(p), synced.get(p));
      assert.equal(replay.get(p), idempotencyKey(id, p, sha(text), 1));
    }
    assert.equal(fake.ledger().repeats, 0, "each key reached the last stage once");

    const second = await call(syncRoute.POST, "POST", `/api/sources/${id}/sync`, {
      token,
      params: { id },
      body: { type: "redeliver" },
    });
    const mark = fake.delivered("/store").length;
    await drain(id);
    assert.equal((await job(second.json.jobId)).status, "completed");
    const third = storedKeys(id, mark);
    assert.equal(third.size, 3);
    for (const [p, text] of Object.entries(files)) assert.equal(third.get(p), keyOf(id, p, sha(text), "2"));
    const [source] = await db().select().from(sources).where(eq(sources.id, id));
    assert.equal(source!.status, "synced", "a redelivery leaves the source's status alone");
  });

  test("a redelivery that fails queues no verify: it sends stored copies and leaves the index as it was", async () => {
    const id = await localSource({ "a.ts": "alpha", "b.ts": "beta" });
    await db().insert(syncJobs).values({ sourceId: id, type: "full", trigger: "manual" });
    await drain(id);
    const res = await call(syncRoute.POST, "POST", `/api/sources/${id}/sync`, {
      token,
      params: { id },
      body: { type: "redeliver" },
    });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    fake.failNext(1_000); // the pipeline refuses every attempt
    await drain(id);
    const done = await job(res.json.jobId as string);
    assert.ok(done.status === "failed" || done.filesFailed > 0, `${done.status} ${done.filesFailed}`);
    fake.failNext(0);
    const verifies = await db().select().from(syncJobs).where(eq(syncJobs.type, "verify"));
    assert.deepEqual(verifies, [], "no verify after a redelivery");
  });
});
