import assert from "node:assert/strict";
import path from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as eventsRoute from "@/app/api/sources/[id]/webhook-events/route";
import * as failuresRoute from "@/app/api/jobs/[id]/failures/route";
import * as retryRoute from "@/app/api/jobs/[id]/retry-failed/route";
import * as activityRoute from "@/app/api/activity/route";
import * as browseRoute from "@/app/api/providers/[type]/browse/route";
import { syncJobFailures, syncJobs, webhookEvents } from "@/lib/db/schema";
import { call, closeAll, db, operatorToken, resetDb, tempDir, writeTree } from "./helpers";

const roots = tempDir("dc-dashboard-roots-");
const folder = path.join(roots, "repo");
writeTree(folder, { "a.ts": "export {}\n", "b/c.py": "x = 1\n" });
process.env.LOCAL_SOURCE_ROOTS = roots;

let token: string;

async function connect() {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "local", name: "repo", config: { path: folder } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json as { source: { id: string }; jobId: string };
}

describe("dashboard API", () => {
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });
  after(() => closeAll());

  test("POST /api/jobs/:id/retry-failed queues an incremental sync of exactly the failed paths", async () => {
    const { source, jobId } = await connect();
    const early = await call(retryRoute.POST, "POST", `/api/jobs/${jobId}/retry-failed`, {
      token,
      params: { id: jobId },
    });
    assert.equal(early.status, 409, "a queued job has nothing to retry yet");
    await db()
      .update(syncJobs)
      .set({ status: "completed", filesFailed: 2, completedAt: new Date() })
      .where(eq(syncJobs.id, jobId));
    await db()
      .insert(syncJobFailures)
      .values([
        { jobId, path: "a.ts", error: "read failed: EACCES" },
        { jobId, path: "b/c.py", error: "the pipeline answered 500" },
      ]);

    const failures = await call(failuresRoute.GET, "GET", `/api/jobs/${jobId}/failures`, {
      token,
      params: { id: jobId },
    });
    assert.equal(failures.status, 200);
    assert.equal(failures.json.total, 2);
    assert.deepEqual(
      failures.json.failures.map((f: { path: string; error: string }) => [f.path, f.error]),
      [
        ["a.ts", "read failed: EACCES"],
        ["b/c.py", "the pipeline answered 500"],
      ],
    );

    const retry = await call(retryRoute.POST, "POST", `/api/jobs/${jobId}/retry-failed`, {
      token,
      params: { id: jobId },
    });
    assert.equal(retry.status, 202, JSON.stringify(retry.json));
    assert.equal(retry.json.paths, 2);
    const [queued] = await db().select().from(syncJobs).where(eq(syncJobs.id, retry.json.jobId));
    assert.equal(queued!.sourceId, source.id);
    assert.equal(queued!.type, "incremental");
    assert.equal(queued!.trigger, "retry");
    assert.deepEqual([...queued!.paths!].sort(), ["a.ts", "b/c.py"]);
  });

  test("GET /api/activity counts queued and running jobs and lists the last day's failures", async () => {
    const { source, jobId } = await connect();
    let res = await call(activityRoute.GET, "GET", "/api/activity", { token });
    assert.equal(res.status, 200);
    assert.equal(res.json.queued + res.json.running, 1);
    await db()
      .update(syncJobs)
      .set({ status: "failed", errorMessage: "the folder is gone", completedAt: new Date() })
      .where(eq(syncJobs.id, jobId));
    res = await call(activityRoute.GET, "GET", "/api/activity", { token });
    assert.deepEqual([res.json.queued, res.json.running], [0, 0]);
    assert.equal(res.json.recentFailures.length, 1);
    assert.equal(res.json.recentFailures[0].sourceId, source.id);
    assert.equal(res.json.recentFailures[0].errorMessage, "the folder is gone");
    assert.equal((await call(activityRoute.GET, "GET", "/api/activity", {})).status, 401);
  });

  test("GET /api/sources/:id carries the file count; GET /api/sources/:id/webhook-events lists events without payloads", async () => {
    const { source } = await connect();
    const one = await call(sourceRoute.GET, "GET", `/api/sources/${source.id}`, { token, params: { id: source.id } });
    assert.equal(one.json.source.fileCount, 0);
    await db()
      .insert(webhookEvents)
      .values({
        sourceId: source.id,
        sourceType: "github",
        eventType: "push",
        deliveryId: "d-1",
        payload: { secret: "x" },
      });
    const res = await call(eventsRoute.GET, "GET", `/api/sources/${source.id}/webhook-events`, {
      token,
      params: { id: source.id },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.events.length, 1);
    assert.equal(res.json.events[0].eventType, "push");
    assert.equal(res.json.events[0].deliveryId, "d-1");
    assert.equal(res.json.events[0].processed, false);
    assert.equal("payload" in res.json.events[0], false);
  });

  test("POST /api/providers/:type/browse needs an account or a token, and refuses what a provider cannot list", async () => {
    const none = await call(browseRoute.POST, "POST", "/api/providers/github/browse", {
      token,
      params: { type: "github" },
      body: { what: "repositories" },
    });
    assert.equal(none.status, 400);
    assert.equal(none.json.errors[0].path, "token");
    const folders = await call(browseRoute.POST, "POST", "/api/providers/github/browse", {
      token,
      params: { type: "github" },
      body: { what: "folders", token: "t" },
    });
    assert.equal(folders.status, 400);
    const local = await call(browseRoute.POST, "POST", "/api/providers/local/browse", {
      token,
      params: { type: "local" },
      body: { what: "folders" },
    });
    assert.equal(local.status, 400);
    const branches = await call(browseRoute.POST, "POST", "/api/providers/github/browse", {
      token,
      params: { type: "github" },
      body: { what: "branches", token: "t" },
    });
    assert.equal(branches.status, 422);
  });
});
