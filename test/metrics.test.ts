import assert from "node:assert/strict";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import * as metricsRoute from "@/app/api/metrics/route";
import * as sourcesRoute from "@/app/api/sources/route";
import { workers } from "@/lib/db/schema";
import { countWebhook } from "@/lib/metrics/counters";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { call, closeAll, db, operatorToken, resetDb, signedInUser, tempDir, waitForJob, writeTree } from "./helpers";

const roots = tempDir("dc-metrics-roots-");
process.env.LOCAL_SOURCE_ROOTS = roots;

let worker: RunningWorker;
let token: string;

/** The value of one sample line (`name{labels} value`), or null when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? "").split(",").filter(Boolean);
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(match[3]);
  }
  return null;
}

async function scrape(options: { token?: string; headers?: Record<string, string> } = { token: undefined }) {
  return call(metricsRoute.GET, "GET", "/api/metrics", options);
}

describe("GET /api/metrics", () => {
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
  });

  test("is for operator tokens and METRICS_TOKEN only", async () => {
    assert.equal((await scrape({})).status, 401);
    const member = await signedInUser("member@example.com");
    assert.equal((await scrape({ token: member.token })).status, 403);
    const admin = await signedInUser("admin@example.com", "admin");
    assert.equal((await scrape({ token: admin.token })).status, 403, "a user's token is not an operator's");
    assert.equal((await scrape({ token: "wrong" })).status, 401);
    process.env.METRICS_TOKEN = "scrape-secret-for-tests";
    try {
      const res = await scrape({ token: "scrape-secret-for-tests" });
      assert.equal(res.status, 200);
      assert.match(res.type ?? "", /^text\/plain; version=0\.0\.4/);
    } finally {
      delete process.env.METRICS_TOKEN;
    }
    assert.equal((await scrape({ token })).status, 200);
  });

  test("jobs, durations, sources, queues and workers move after a sync", async () => {
    const before = (await scrape({ token })).text;
    assert.equal(sample(before, "dc_workers"), 1);
    assert.equal(sample(before, "dc_sync_jobs_total", { type: "full", trigger: "created", status: "completed" }), null);

    const folder = path.join(roots, "m");
    writeTree(folder, { "a.ts": "export const a = 1;\n", "b.md": "# b\n" });
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "m", config: { path: folder } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed");

    const text = (await scrape({ token })).text;
    assert.match(text, /# TYPE dc_sync_jobs_total counter/);
    const completed = [
      ...text.matchAll(/^dc_sync_jobs_total\{type="full",trigger="([^"]+)",status="completed"\} (\d+)$/gm),
    ];
    assert.equal(completed.length, 1, text);
    assert.equal(Number(completed[0]![2]), 1);
    assert.equal(sample(text, "dc_sync_duration_seconds_count", { type: "full" }), 1);
    assert.equal(sample(text, "dc_sync_duration_seconds_bucket", { type: "full", le: "+Inf" }), 1);
    assert.equal(sample(text, "dc_sources", { type: "local", status: "synced" }), 1);
    assert.match(text, /^dc_queue_jobs\{queue="[^"]+",state="completed"\} \d+$/m);
  });

  test("counters of every live worker process are summed with this server's own", async () => {
    countWebhook("github", "refused");
    const local = sample((await scrape({ token })).text, "dc_webhook_requests_total", {
      provider: "github",
      outcome: "refused",
    });
    assert.ok(local && local >= 1);
    // Another worker process (on another machine) published its counters with its heartbeat.
    const snapshot = [
      {
        name: "dc_webhook_requests_total",
        help: "Webhook requests, by provider and outcome (accepted, duplicate, refused)",
        type: "counter",
        aggregator: "sum",
        values: [{ value: 5, labels: { provider: "github", outcome: "refused" } }],
      },
    ];
    const insert = (id: string, seen: ReturnType<typeof sql>) =>
      db().insert(workers).values({
        id,
        pid: 1,
        host: "elsewhere",
        version: "0.1.0",
        startedAt: new Date(),
        lastSeenAt: seen,
        metrics: snapshot,
      });
    await insert("0b8f0e0a-4d7e-4a55-8d7e-3c1d2b3a4f01", sql`now()`);
    await insert("0b8f0e0a-4d7e-4a55-8d7e-3c1d2b3a4f02", sql`now() - interval '5 minutes'`);
    try {
      const text = (await scrape({ token })).text;
      assert.equal(sample(text, "dc_webhook_requests_total", { provider: "github", outcome: "refused" }), local + 5);
      assert.equal(sample(text, "dc_workers"), 2, "the stale row is not a live worker");
    } finally {
      await db().execute(sql`delete from workers where host = 'elsewhere'`);
    }
  });
});
