import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as githubWebhook from "@/app/api/webhooks/github/route";
import { files, syncJobs, webhookEvents } from "@/lib/db/schema";
import { idempotencyKey } from "@/lib/pipeline/deliver";
import { freePort } from "./fakes/free-port";
import { GitRepo } from "./fakes/git-repo";
import { startGitHubFake } from "./fakes/github-fake";
import { startPipelineFake } from "./fakes/pipeline-server";
import { exited, killOnExit, startWorkerProcess, stopProcess } from "./fakes/worker-process";
import { call, closeAll, db, operatorToken, resetDb, tempDir, waitFor } from "./helpers";
import {
  assertDeliveredExactly,
  assertIndexEquals,
  expectedKeys,
  folderIndex,
  sha256,
  waitForIdle,
  writeCorpus,
} from "./prove-helpers";
import { childOutput } from "./child-output";

// Faults, each ending with the index exactly equal to the source and no
// duplicate delivery (the HTTP pipeline fake applies each idempotency key once and counts
// repeats). PostgreSQL restarts are in postgres-restart.test.ts (a private cluster).
const roots = tempDir("dc-fault-roots-");
process.env.LOCAL_SOURCE_ROOTS = roots;
const TOKEN = "ghp_faultTokenForTests0123456789";
const OWNER = "octo";
const NAME = "faults";

let token: string;
let pipeline: Awaited<ReturnType<typeof startPipelineFake>>;
const children: ChildProcess[] = [];

async function worker(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = await startWorkerProcess({ ...pipeline.env, ...env });
  children.push(child);
  return child;
}

async function job(id: string) {
  return (await db().select().from(syncJobs).where(eq(syncJobs.id, id)))[0]!;
}

async function connectLocal(name: string, count: number) {
  const folder = path.join(roots, `${name}-${randomUUID().slice(0, 8)}`);
  writeCorpus(folder, count, name);
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "local", name, config: { path: folder } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return { folder, sourceId: res.json.source.id as string, jobId: res.json.jobId as string };
}

before(async () => {
  pipeline = await startPipelineFake();
});
beforeEach(async () => {
  await resetDb();
  token = await operatorToken();
  pipeline.requests.length = 0;
  pipeline.accepted.clear();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopProcess(c, "SIGKILL")));
});
after(async () => {
  await pipeline.close();
  await closeAll();
});

describe("local sources", () => {
  test(
    "a worker killed with SIGKILL mid-sync: a second worker finishes, the index is exact, each file applied once by key",
    { timeout: 180_000 },
    async () => {
      const FILES = 3000;
      const { folder, sourceId, jobId } = await connectLocal("kill", FILES);
      const first = await worker();
      await waitFor(async () => (await job(jobId)).filesProcessed >= 300, {
        timeoutMs: 90_000,
        intervalMs: 10,
        what: "the sync to be under way",
      });
      first.kill("SIGKILL");
      const killedAt = Date.now();
      await exited(first);
      const atKill = await job(jobId);
      assert.equal(atKill.status, "running");
      assert.ok(atKill.filesProcessed < FILES, "killed in the middle");

      await worker();
      // The dead worker's job is noticed by its stale heartbeat (10 s) on a monitor pass (every
      // 10 s) and retried after 2 s; with pg-boss's default 60 s monitor this took over a minute.
      await waitFor(async () => (await job(jobId)).attempts >= 2, {
        timeoutMs: 90_000,
        intervalMs: 100,
        what: "the retry to claim the job",
      });
      const resumedAfter = Date.now() - killedAt;
      assert.ok(resumedAfter < 45_000, `resumed ${resumedAfter} ms after the kill`);
      const [done] = await waitForIdle([sourceId], 150_000);
      assert.equal(done!.status, "completed", done!.errorMessage ?? "");
      const index = folderIndex(folder);
      await assertIndexEquals(sourceId, index);
      const keys = new Set(expectedKeys(sourceId, index));
      const { repeats } = assertDeliveredExactly(pipeline, keys);
      for (const [, paths] of pipeline.ledger().keysByPath) assert.equal(paths.size, 1);
      // At least once: files in flight when the worker died may be sent again with their key;
      // at most the batches that were in flight (100 files each, two workers' worth).
      console.log(
        `[faults] SIGKILL: ${atKill.filesProcessed}/${FILES} done at the kill, resumed after ${resumedAfter} ms, ${repeats} requests repeated a key`,
      );
      assert.ok(repeats <= 400, `${repeats} repeats`);
    },
  );

  test(
    "the pipeline answers 500 for a while, then recovers: the sync waits and completes, nothing lost or applied twice",
    { timeout: 180_000 },
    async () => {
      // Issue 7 says a minute; FAULT_PIPELINE_OUTAGE_MS scales it (default 10 s keeps the suite short).
      const OUTAGE_MS = Number(process.env.FAULT_PIPELINE_OUTAGE_MS ?? 10_000);
      const { folder, sourceId, jobId } = await connectLocal("outage", 1500);
      await worker();
      await waitFor(async () => (await job(jobId)).filesProcessed >= 100, {
        timeoutMs: 90_000,
        intervalMs: 10,
        what: "the sync to be under way",
      });
      pipeline.failFor(OUTAGE_MS);
      const started = Date.now();
      const waiting = await waitFor(
        async () => {
          const j = await job(jobId);
          return j.detail?.startsWith("waiting for the pipeline") ? j : null;
        },
        { what: "the job to show that it waits for the pipeline" },
      );
      assert.equal(waiting.status, "running");
      const [done] = await waitForIdle([sourceId], 170_000);
      assert.equal(done!.status, "completed", done!.errorMessage ?? "");
      assert.ok(Date.now() - started >= OUTAGE_MS - 500);
      assert.ok(pipeline.refused() > 0);
      assert.equal(done!.filesFailed, 0);
      const index = folderIndex(folder);
      await assertIndexEquals(sourceId, index);
      const { repeats } = assertDeliveredExactly(pipeline, new Set(expectedKeys(sourceId, index)));
      assert.equal(repeats, 0, "a refused request was not applied, so its retry is no repeat");
    },
  );
});

describe("GitHub sources", () => {
  let repo: GitRepo;
  let github: Awaited<ReturnType<typeof startGitHubFake>>;

  before(async () => {
    repo = new GitRepo();
    const initial: Record<string, string> = {};
    for (let i = 0; i < 600; i++)
      initial[`src/m${i % 20}/f${i}.ts`] = `export const v${i} = ${i};\n`.repeat(1 + (i % 5));
    repo.commit(initial, {}, "initial");
    github = await startGitHubFake({ owner: OWNER, name: NAME, token: TOKEN, repo });
    process.env.GITHUB_API_URL = github.base;
    process.env.APP_URL = "https://connector.example.test";
  });
  after(async () => {
    await github.close();
  });

  const headIndex = () => {
    const out = new Map<string, string>();
    for (const e of repo.tree(repo.head())) out.set(e.path, sha256(repo.blob(e.sha)!));
    return out;
  };

  async function connectGitHub() {
    github.hooks.length = 0;
    github.clearInjections();
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "github", name: `${OWNER}/${NAME}`, config: { token: TOKEN } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return {
      sourceId: res.json.source.id as string,
      jobId: res.json.jobId as string,
      secret: github.hooks.at(-1)!.secret,
    };
  }

  function signed(body: string, secret: string, delivery = randomUUID()) {
    return {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": delivery,
      "x-github-hook-id": String(github.hooks.at(-1)!.id),
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    };
  }

  const pushBody = (before: string, after: string) =>
    JSON.stringify({
      ref: "refs/heads/main",
      before,
      after,
      commits: [],
      repository: { full_name: `${OWNER}/${NAME}` },
    });

  function changeRepo(round: number): string {
    const tree = repo.tree(repo.head()).map((e) => e.path);
    const edits: Record<string, string | null> = {};
    for (let i = 0; i < 5; i++)
      edits[tree[(round * 7 + i * 13) % tree.length]!] = `export const edited = ${round}_${i};\n`;
    edits[`src/new/r${round}.ts`] = `export const added = ${round};\n`;
    const victim = tree.find((p) => !(p in edits) && p.endsWith("9.ts"));
    if (victim) edits[victim] = null;
    return repo.commit(edits, {}, `round ${round}`);
  }

  const FILE_READ = /\/(git\/blobs|contents)\//;

  test(
    "the provider answers bursts of 5xx and 429: the sync waits them out or retries, and ends exact",
    { timeout: 180_000 },
    async () => {
      const before = new Set(expectedKeys("", new Map()));
      assert.equal(before.size, 0);
      const { sourceId, jobId } = await connectGitHub();
      // One request per file (no archive), so that there are many calls to disturb. Files come
      // from /git/blobs/ (a listing's blob SHA in hand) or /contents/ (fanned-out batches).
      github.inject(/\/commits\/main/, 502, { times: 3 }); // more than the inline retries: the attempt fails, pg-boss retries it
      github.inject(FILE_READ, 503, { times: 4 });
      github.inject(FILE_READ, 429, {
        headers: { "retry-after": "1" },
        body: '{"message":"API rate limit exceeded"}',
        times: 8,
      });
      github.inject(/\/git\/trees\//, 500, { times: 1 });
      github.inject(FILE_READ, 502, { times: 6 });
      github.inject(FILE_READ, 403, {
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 1) },
        body: '{"message":"API rate limit exceeded"}',
        times: 3,
      });
      await worker({ GITHUB_API_URL: github.base, SYNC_GIT_ARCHIVE: "off" });
      const [done] = await waitForIdle([sourceId], 170_000);
      assert.equal(done!.status, "completed", done!.errorMessage ?? "");
      assert.equal(done!.filesFailed, 0);
      assert.equal(github.pendingInjections(), 0, "every injected fault was met");
      const index = headIndex();
      await assertIndexEquals(sourceId, index);
      // A batch that fails after some of its files reached the pipeline sends those again, with
      // the same keys, when it is retried: at most a batch (100 files) per failed attempt.
      const { repeats } = assertDeliveredExactly(pipeline, new Set(expectedKeys(sourceId, index)));
      for (const [, keys] of pipeline.ledger().keysByPath) assert.equal(keys.size, 1);
      assert.ok(repeats <= 300, `${repeats} repeats`);
      console.log(
        `[faults] provider bursts: job attempts ${done!.attempts}, ${github.requests.length} GitHub requests, ${repeats} requests repeated a key (job ${jobId})`,
      );
    },
  );

  test(
    "a webhook arriving during a full sync: the push is synced after it, the index ends at the new head",
    { timeout: 180_000 },
    async () => {
      const { sourceId, jobId, secret } = await connectGitHub();
      const from = repo.head();
      const initialKeys = expectedKeys(sourceId, headIndex());
      await worker({ GITHUB_API_URL: github.base, SYNC_GIT_ARCHIVE: "off", SYNC_CONCURRENCY: "2" });
      await waitFor(async () => (await job(jobId)).filesProcessed >= 50, {
        timeoutMs: 90_000,
        intervalMs: 10,
        what: "the full sync to be under way",
      });
      const to = changeRepo(1);
      const body = pushBody(from, to);
      const res = await githubWebhook.POST(
        new Request("http://localhost/api/webhooks/github", { method: "POST", headers: signed(body, secret), body }),
      );
      assert.equal(res.status, 202);
      assert.equal((await job(jobId)).status, "running", "the webhook arrived while the full sync ran");
      const jobs = await waitForIdle([sourceId], 170_000);
      assert.deepEqual(
        jobs.map((j) => j.status),
        ["completed", "completed"],
      );
      const index = headIndex();
      await assertIndexEquals(sourceId, index);
      const [source] = await db()
        .execute<{ cursor: string }>(sql`select cursor from sources where id = ${sourceId}`)
        .then((r) => r.rows);
      assert.equal(source!.cursor, to);
      const { repeats } = assertDeliveredExactly(
        pipeline,
        new Set(expectedKeys(sourceId, index)),
        new Set([...initialKeys, ...expectedKeys(sourceId, index)]),
      );
      assert.equal(repeats, 0);
      // The file deleted by the push was delivered as a deletion, or never indexed at all.
      const deleted = [...new Map(repo.tree(from).map((e) => [e.path, e])).keys()].filter((p) => !index.has(p));
      const indexedDeleted = pipeline
        .delivered("/store")
        .filter((r) => deleted.includes(String(r.body.path)))
        .map((r) => r.body.path);
      const deletions = pipeline.delivered("/delete").map((r) => r.body.path);
      for (const p of indexedDeleted) assert.ok(deletions.includes(p), `deletion of ${p} delivered`);
    },
  );

  test(
    "the web server restarted (SIGKILL) while signed webhooks arrive: each delivery recorded once, each led to a sync",
    { timeout: 240_000 },
    async (t) => {
      if (!existsSync(path.join(process.cwd(), ".next", "BUILD_ID"))) {
        t.skip("needs the built app (`npm run build`, as CI does before the tests): the restart is of the web server");
        return;
      }
      const { sourceId, jobId, secret } = await connectGitHub();
      await worker({ GITHUB_API_URL: github.base });
      await waitForIdle([sourceId]);
      assert.equal((await job(jobId)).status, "completed");
      const port = await freePort();
      const startWeb = async () => {
        const web = spawn(process.execPath, ["--import", "tsx", "server.ts", "-p", String(port), "-H", "127.0.0.1"], {
          env: { ...process.env, GITHUB_API_URL: github.base },
          stdio: ["ignore", childOutput(), childOutput()],
        });
        children.push(web);
        killOnExit(web);
        await waitFor(
          () =>
            fetch(`http://127.0.0.1:${port}/api/health`).then(
              (r) => r.ok,
              () => false,
            ),
          { timeoutMs: 60_000, intervalMs: 100, what: "the web server" },
        );
        return web;
      };
      let web = await startWeb();

      // A sender that behaves like a provider's redelivery: each delivery id is sent until it
      // gets a 2xx (connection refused or reset while the server is down).
      const DELIVERIES = 150;
      const ids = Array.from({ length: DELIVERIES }, () => randomUUID());
      let base = repo.head();
      let sent = 0;
      let failedAttempts = 0;
      const statuses = new Map<string, number>();
      const sender = (async () => {
        for (let i = 0; i < DELIVERIES; i++) {
          if (i % 30 === 10) {
            const next = changeRepo(100 + i);
            base = next;
          }
          // Each delivery its own body: a replayed body is a duplicate whatever its delivery id.
          const body = JSON.stringify({ ...JSON.parse(pushBody(base, repo.head())), delivery: ids[i] });
          for (;;) {
            const res = await fetch(`http://127.0.0.1:${port}/api/webhooks/github`, {
              method: "POST",
              headers: signed(body, secret, ids[i]),
              body,
            }).catch(() => null);
            if (res && res.status < 300) {
              statuses.set(ids[i]!, res.status);
              break;
            }
            failedAttempts++;
            if (res && res.status < 500) assert.fail(`delivery ${i} answered ${res.status}`);
            await new Promise((r) => setTimeout(r, 50));
          }
          sent++;
        }
      })();
      await waitFor(async () => sent >= 50, { timeoutMs: 60_000, what: "50 deliveries" });
      web.kill("SIGKILL");
      await exited(web);
      await new Promise((r) => setTimeout(r, 300));
      web = await startWeb();
      await waitFor(async () => sent >= 100, { timeoutMs: 60_000, what: "100 deliveries" });
      web.kill("SIGKILL");
      await exited(web);
      web = await startWeb();
      await sender;
      const jobs = await waitForIdle([sourceId], 120_000);
      assert.ok(jobs.every((j) => j.status === "completed"));
      assert.ok(failedAttempts > 0, "some deliveries met the server down");

      const events = await db().select().from(webhookEvents).where(eq(webhookEvents.sourceType, "github"));
      assert.equal(events.length, DELIVERIES, "each delivery recorded once");
      assert.deepEqual(new Set(events.map((e) => e.deliveryId)), new Set(ids));
      assert.ok(events.every((e) => e.processed && e.sourceId === sourceId));
      // Each event led to a sync: a webhook-triggered job of the source started after it was recorded.
      const webhookJobs = jobs.filter((j) => j.trigger === "webhook");
      for (const e of events) {
        assert.ok(
          webhookJobs.some((j) => j.startedAt && j.startedAt.getTime() >= e.createdAt.getTime() - 5),
          `event ${e.deliveryId} led to a sync`,
        );
      }
      const index = headIndex();
      await assertIndexEquals(sourceId, index);
      const rows = await db().select({ path: files.path }).from(files).where(eq(files.sourceId, sourceId));
      assert.equal(rows.length, index.size);
      const ledger = pipeline.ledger();
      for (const [p, keys] of ledger.keysByPath) assert.ok(keys.size <= 1 + 5, `${p}: ${keys.size} versions`);
      for (const [p, sha] of index)
        assert.ok(
          ledger.keysByPath.get(`${sourceId}:${p}`)?.has(idempotencyKey(sourceId, p, sha)),
          `${p} delivered at its last version`,
        );
      assert.equal(ledger.repeats, 0);
      console.log(
        `[faults] web restarts: ${DELIVERIES} deliveries, ${failedAttempts} attempts met the server down, ${webhookJobs.length} webhook syncs`,
      );
    },
  );
});
