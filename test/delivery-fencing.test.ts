import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import { bumpFence } from "@/lib/changes/fence";
import { connectorForSource } from "@/lib/sync/connector-for-source";
import { changes, sources, syncJobFailures, syncJobs } from "@/lib/db/schema";
import { cancelJob } from "@/lib/jobs/jobs";
import { createPipeline, PipelineRejectedError, pipelineStagesFromEnv, type Pipeline } from "@/lib/pipeline/deliver";
import { sendToPipelineJob } from "@/lib/queue/jobs/send-to-pipeline";
import { deleteSource } from "@/lib/sources/delete-source";
import { FileProcessor } from "@/lib/sync/file-processor";
import { createFileFilter } from "@/lib/sync/filters";
import { handleSyncSource } from "@/lib/sync/handle-sync-source";
import { syncQueue } from "@/lib/queue/sync-queue";
import { StaleAttemptError } from "@/lib/changes/attempt-errors";
import { startPipelineFake } from "./fakes/pipeline-server";
import { closeAll, db, indexed, resetDb, tempDir, waitFor } from "./helpers";

// Delivery is exact under crashes, cancels, doubled handlers and source deletion: whatever
// happens, the last version each file reached downstream is the version the index holds.

const root = tempDir("dc-fence-roots-");
process.env.LOCAL_SOURCE_ROOTS = root;

const operator: Actor = { userId: null, role: "admin", via: "token" };
const FAST = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 };
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

let fake: Awaited<ReturnType<typeof startPipelineFake>>;

/** The real HTTP pipeline against the fake, with calls held at a gate or failing on demand. */
function gatedPipeline() {
  const real = createPipeline(pipelineStagesFromEnv(fake.env as unknown as NodeJS.ProcessEnv), FAST);
  let open: () => void = () => {};
  let gate: Promise<void> | null = null;
  let held = 0;
  let expected = 1;
  let reached: () => void = () => {};
  const waiting = new Promise<void>((resolve) => (reached = resolve));
  const pass = async () => {
    if (gate) {
      if (++held >= expected) reached();
      await gate;
    }
  };
  const pipeline: Pipeline & { failAfterUpsert?: string } = {
    embedded: false,
    async upsert(...args: Parameters<Pipeline["upsert"]>) {
      await pass();
      const chunks = await real.upsert(...args);
      if (pipeline.failAfterUpsert === args[0].path) throw new Error("worker lost right after delivering");
      return chunks;
    },
    async delete(...args: Parameters<Pipeline["delete"]>) {
      await pass();
      return real.delete(...args);
    },
  };
  return {
    pipeline,
    /** Holds every later call until `release`; resolves once `count` calls are held. */
    close(count: number) {
      expected = count;
      gate = new Promise<void>((resolve) => (open = resolve));
      return waiting;
    },
    release: () => open(),
  };
}

function folderFor(name: string) {
  const folder = path.join(root, name);
  mkdirSync(folder, { recursive: true });
  return folder;
}

function write(folder: string, files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
    writeFileSync(path.join(folder, rel), content);
  }
}

async function createLocalSource(folder: string): Promise<string> {
  const [source] = await db()
    .insert(sources)
    .values({ type: "local", name: path.basename(folder), config: { path: folder } })
    .returning();
  return source!.id;
}

async function queueSync(sourceId: string, type: "full" | "incremental" = "full"): Promise<string> {
  const [job] = await db().insert(syncJobs).values({ sourceId, type, trigger: "manual" }).returning();
  return job!.id;
}

async function jobRow(jobId: string) {
  const [job] = await db().select().from(syncJobs).where(eq(syncJobs.id, jobId));
  return job!;
}

/** The sha of the last upsert of each path that reached the last stage, or "deleted". */
function downstream(sourceId: string): Map<string, string> {
  const last = new Map<string, string>();
  for (const r of fake.requests) {
    if (r.stage !== "graph" || r.body.sourceId !== sourceId) continue;
    last.set(String(r.body.path), r.route === "/store" ? String(r.body.sha) : "deleted");
  }
  return last;
}

async function assertDownstreamEqualsIndex(sourceId: string) {
  const index = await indexed(sourceId);
  const expected = new Map([...index].map(([p, row]) => [p, row.sha!]));
  const actual = new Map([...downstream(sourceId)].filter(([, s]) => s !== "deleted"));
  assert.deepEqual(actual, expected, "every file's last delivered version is its indexed version");
}

const attempt = { retryCount: 0, retryLimit: 0 };

describe("delivery fencing and the outbox", () => {
  before(async () => {
    fake = await startPipelineFake();
  });
  after(async () => {
    await fake.close();
    await closeAll();
  });
  beforeEach(async () => {
    await resetDb();
    fake.requests.length = 0;
    fake.accepted.clear();
  });

  test("a failure between delivery and commit, then the file reverting: downstream ends with the indexed version", async () => {
    const folder = folderFor("revert");
    write(folder, { "a.md": "one\n", "b.md": "bee\n" });
    const sourceId = await createLocalSource(folder);
    const first = gatedPipeline();
    await queueSync(sourceId);
    await handleSyncSource(sourceId, attempt, syncQueue, first.pipeline);

    write(folder, { "a.md": "two\n" });
    const second = gatedPipeline();
    second.pipeline.failAfterUpsert = "a.md";
    const failing = await queueSync(sourceId);
    await handleSyncSource(sourceId, attempt, syncQueue, second.pipeline).catch(() => {});
    assert.equal((await jobRow(failing)).status, "failed");
    assert.equal(downstream(sourceId).get("a.md"), sha("two\n"), "the newer version did reach downstream");

    write(folder, { "a.md": "one\n" });
    const third = await queueSync(sourceId);
    await handleSyncSource(sourceId, attempt, syncQueue, gatedPipeline().pipeline);
    assert.equal((await jobRow(third)).status, "completed");
    assert.equal((await indexed(sourceId)).get("a.md")!.sha, sha("one\n"));
    await assertDownstreamEqualsIndex(sourceId);
  });

  test("a cancelled job's attempt (its fence bumped) neither writes nor delivers once the next job runs", async () => {
    const folder = folderFor("cancel");
    write(folder, { "a.md": "old a\n", "b.md": "old b\n", "c.md": "old c\n" });
    const sourceId = await createLocalSource(folder);
    const stale = gatedPipeline();
    const held = stale.close(3);
    const firstJob = await queueSync(sourceId);
    const staleRun = handleSyncSource(sourceId, attempt, syncQueue, stale.pipeline);
    await held;
    await cancelJob(operator, firstJob);

    write(folder, { "a.md": "new a\n", "b.md": "new b\n", "c.md": "new c\n" });
    const nextJob = await queueSync(sourceId);
    // The stale handler drains the source's queue after its cancel: run the next job elsewhere first.
    await handleSyncSource(sourceId, attempt, syncQueue, gatedPipeline().pipeline);
    assert.equal((await jobRow(nextJob)).status, "completed");
    const requestsBefore = fake.requests.length;
    stale.release();
    await staleRun;
    assert.equal(fake.requests.length, requestsBefore, "the stale attempt delivered nothing after the cancel");
    assert.equal((await indexed(sourceId)).get("a.md")!.sha, sha("new a\n"));
    await assertDownstreamEqualsIndex(sourceId);
  });

  test("a batch of a stale attempt (its fence bumped) writes no row and no change", async () => {
    const folder = folderFor("stale-batch");
    write(folder, { "a.md": "a\n" });
    const sourceId = await createLocalSource(folder);
    await queueSync(sourceId);
    await handleSyncSource(sourceId, attempt, syncQueue, gatedPipeline().pipeline);
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    const jobId = await queueSync(sourceId);
    await db().update(syncJobs).set({ status: "running" }).where(eq(syncJobs.id, jobId));
    await bumpFence(sourceId);
    write(folder, { "a.md": "changed\n", "b.md": "b\n" });
    const processor = new FileProcessor({
      jobId,
      fence: source!.fence,
      source: source!,
      connector: await connectorForSource(source!),
      pipeline: gatedPipeline().pipeline,
      filter: createFileFilter({}),
      concurrency: 2,
      setDetail: async () => {},
    });
    const requestsBefore = fake.requests.length;
    const changesBefore = await db().select().from(changes).where(eq(changes.sourceId, sourceId));
    await assert.rejects(
      processor.process(
        [
          { file: { path: "a.md", size: null, version: null }, content: null },
          { file: { path: "b.md", size: null, version: null }, content: null },
        ],
        new Map(),
      ),
      StaleAttemptError,
    );
    assert.equal((await indexed(sourceId)).get("a.md")!.sha, sha("a\n"));
    assert.equal((await indexed(sourceId)).has("b.md"), false);
    assert.deepEqual(await db().select().from(changes).where(eq(changes.sourceId, sourceId)), changesBefore);
    assert.equal(fake.requests.length, requestsBefore);
    const job = await jobRow(jobId);
    assert.deepEqual(
      [job.filesProcessed, job.filesSkipped, job.filesFailed],
      [0, 0, 0],
      "its counters rolled back too",
    );
  });

  test("many batches of one job written at once all commit, none deadlocked or retried, the counters exact", async () => {
    const folder = folderFor("concurrent-batches");
    const names = Array.from({ length: 160 }, (_, i) => `d${i % 7}/f${i}.md`);
    write(folder, Object.fromEntries(names.map((n, i) => [n, `file ${i % 40}\n`])));
    write(folder, { "d0/big.md": "x".repeat(64), "d1/bin.md": "\0binary" });
    const sourceId = await createLocalSource(folder);
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    const jobId = await queueSync(sourceId);
    await db().update(syncJobs).set({ status: "running", filesTotal: 162 }).where(eq(syncJobs.id, jobId));
    const processor = new FileProcessor({
      jobId,
      fence: source!.fence,
      source: source!,
      connector: await connectorForSource(source!),
      pipeline: createPipeline({}),
      filter: createFileFilter({ maxFileSize: 32 }),
      concurrency: 4,
      setDetail: async () => {},
    });
    const entries = [...names, "d0/big.md", "d1/bin.md"].map((p) => ({
      file: { path: p, size: null, version: null },
      content: null,
    }));
    // Eight batches at once, as several workers' process-file-batch jobs write them.
    const batches = Array.from({ length: 8 }, (_, b) => entries.filter((_, i) => i % 8 === b));
    await Promise.all(batches.map((batch) => processor.process(batch, new Map())));
    assert.equal((await indexed(sourceId)).size, 160);
    const job = await jobRow(jobId);
    assert.deepEqual([job.filesProcessed, job.filesSkipped, job.filesFailed], [160, 2, 0]);
    const [row] = await db().select({ fileCount: sources.fileCount }).from(sources).where(eq(sources.id, sourceId));
    assert.equal(row!.fileCount, 160);
  });

  test("two handlers of the same job: the later one wins, the earlier one writes and delivers nothing more", async () => {
    const folder = folderFor("twice");
    write(folder, { "a.md": "a\n", "b.md": "b\n", "c.md": "c\n" });
    const sourceId = await createLocalSource(folder);
    const jobId = await queueSync(sourceId);
    const slow = gatedPipeline();
    const held = slow.close(3);
    const firstRun = handleSyncSource(sourceId, attempt, syncQueue, slow.pipeline);
    await held;
    // pg-boss starts a second handler when the first one missed its heartbeats.
    await handleSyncSource(sourceId, attempt, syncQueue, gatedPipeline().pipeline);
    const done = await jobRow(jobId);
    assert.equal(done.status, "completed");
    assert.equal(done.attempts, 2);
    const requestsBefore = fake.requests.length;
    slow.release();
    await firstRun;
    assert.equal(fake.requests.length, requestsBefore, "the earlier handler delivered nothing after losing");
    assert.equal(fake.ledger().repeats, 0);
    assert.equal((await jobRow(jobId)).status, "completed");
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.equal(source!.status, "synced");
    await assertDownstreamEqualsIndex(sourceId);
  });

  test("deleting a source during a sync delivers a delete for every file that was ever delivered", async () => {
    const folder = folderFor("delete");
    write(folder, { "a.md": "a\n", "b.md": "b\n" });
    const sourceId = await createLocalSource(folder);
    await queueSync(sourceId);
    await handleSyncSource(sourceId, attempt, syncQueue, gatedPipeline().pipeline);

    write(folder, { "c.md": "c\n", "d.md": "d\n", "a.md": "a2\n" });
    const running = gatedPipeline();
    const held = running.close(3);
    await queueSync(sourceId);
    const run = handleSyncSource(sourceId, attempt, syncQueue, running.pipeline);
    await held;
    process.env.PIPELINE_NORMALIZE_URL = fake.env.PIPELINE_NORMALIZE_URL;
    process.env.PIPELINE_GRAPH_URL = fake.env.PIPELINE_GRAPH_URL;
    try {
      await deleteSource(operator, sourceId);
      running.release();
      await run;
      await sendToPipelineJob.handle({ sourceId }, {} as never);
    } finally {
      delete process.env.PIPELINE_NORMALIZE_URL;
      delete process.env.PIPELINE_GRAPH_URL;
    }
    const last = downstream(sourceId);
    assert.ok(last.size >= 2);
    for (const [p, state] of last) assert.equal(state, "deleted", `${p} is deleted downstream`);
  });

  test("a 4xx from a stage on a delete is one failed file: the job completes and the next sync is not blocked", async () => {
    const folder = folderFor("refused");
    write(folder, { "a.md": "a\n", "b.md": "b\n" });
    const sourceId = await createLocalSource(folder);
    await queueSync(sourceId);
    await handleSyncSource(sourceId, attempt, syncQueue, gatedPipeline().pipeline);

    const { rmSync } = await import("node:fs");
    rmSync(path.join(folder, "b.md"));
    const refusing = gatedPipeline().pipeline;
    refusing.delete = async () => {
      throw new PipelineRejectedError("graph stage answered 422: unknown document");
    };
    const jobId = await queueSync(sourceId);
    await handleSyncSource(sourceId, { retryCount: 0, retryLimit: 9 }, syncQueue, refusing);
    const job = await jobRow(jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(job.filesFailed, 1);
    const failures = await db().select().from(syncJobFailures).where(eq(syncJobFailures.jobId, jobId));
    assert.deepEqual(
      failures.map((f) => f.path),
      ["b.md"],
    );
    assert.match(failures[0]!.error, /422/);

    write(folder, { "c.md": "c\n" });
    const next = await queueSync(sourceId);
    await handleSyncSource(sourceId, { retryCount: 0, retryLimit: 9 }, syncQueue, gatedPipeline().pipeline);
    assert.equal((await jobRow(next)).status, "completed");
    await waitFor(async () => (await indexed(sourceId)).has("c.md"), { what: "c.md indexed" });
  });
});
