import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import * as activityRoute from "@/app/api/activity/route";
import * as healthRoute from "@/app/api/health/route";
import { workers } from "@/lib/db/schema";
import { startWorker } from "@/lib/queue/start-worker";
import { call, closeAll, db, operatorToken, resetDb, signedInUser } from "./helpers";

describe("worker health", () => {
  beforeEach(async () => {
    await resetDb();
    await db().delete(workers);
  });
  after(() => closeAll());

  test("a running worker records a heartbeat that GET /api/health shows to callers with a token, never to anonymous ones", async () => {
    const token = await operatorToken();
    const worker = await startWorker({ watch: false });
    try {
      const anonymous = await call(healthRoute.GET, "GET", "/api/health");
      assert.equal(anonymous.status, 200);
      assert.deepEqual(anonymous.json, { ok: true, database: true });

      const known = await call(healthRoute.GET, "GET", "/api/health", { token });
      assert.equal(known.status, 200);
      assert.equal(known.json.ok, true);
      assert.equal(known.json.workers.length, 1);
      const [w] = known.json.workers;
      assert.equal(w.pid, process.pid);
      assert.equal(typeof w.host, "string");
      assert.equal(w.version, "0.1.0");
      assert.equal(w.jobsRunning, 0);

      const bad = await call(healthRoute.GET, "GET", "/api/health", { token: "dc_not_a_token" });
      assert.deepEqual(bad.json, { ok: true, database: true }, "an invalid token is an anonymous caller");
    } finally {
      await worker.stop({ timeout: 5000 });
    }
    const [{ n }] = (await db().execute(sql`select count(*)::int as n from workers`)).rows as [{ n: number }];
    assert.equal(n, 0, "a worker that stops removes its row");
  });

  test("a worker whose heartbeat is older than a minute is not live, and the activity summary counts none", async () => {
    const user = await signedInUser("ops@example.com", "admin");
    await db()
      .insert(workers)
      .values({
        id: "6d0f9a64-4a43-4b52-9b59-8d1f1f3f2a11",
        pid: 4242,
        host: "gone",
        version: "0.1.0",
        startedAt: new Date(Date.now() - 3600_000),
        lastSeenAt: sql`now() - interval '61 seconds'`,
      });
    const activity = await call(activityRoute.GET, "GET", "/api/activity", { token: user.token });
    assert.equal(activity.json.workers, 0);
    const health = await call(healthRoute.GET, "GET", "/api/health", { cookie: user.cookie });
    assert.deepEqual(health.json.workers, []);

    const worker = await startWorker({ watch: false });
    try {
      const live = await call(activityRoute.GET, "GET", "/api/activity", { token: user.token });
      assert.equal(live.json.workers, 1);
    } finally {
      await worker.stop({ timeout: 5000 });
    }
  });
});
