import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import * as metricsRoute from "@/app/api/metrics/route";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as githubWebhookRoute from "@/app/api/webhooks/github/route";
import { syncJobs, workers } from "@/lib/db/schema";
import { countWebhook, processMetrics } from "@/lib/metrics/counters";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { GitRepo } from "./fakes/git-repo";
import { startGitHubFake } from "./fakes/github-fake";
import { startPipelineFake } from "./fakes/pipeline-server";
import {
  call,
  closeAll,
  db,
  operatorToken,
  resetDb,
  signedInUser,
  tempDir,
  waitFor,
  waitForJob,
  writeTree,
} from "./helpers";

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

/** Every family the issue names, as GET /api/metrics must always list it. */
const FAMILIES = [
  "dc_sync_jobs_total",
  "dc_sync_duration_seconds",
  "dc_files_total",
  "dc_provider_requests_total",
  "dc_provider_rate_limit_wait_seconds_total",
  "dc_webhook_requests_total",
  "dc_pipeline_deliveries_total",
  "dc_queue_jobs",
  "dc_sources",
  "dc_workers",
];

/** The counters a worker publishes with its heartbeat. */
const PUBLISHED = [
  "dc_files_total",
  "dc_provider_requests_total",
  "dc_provider_rate_limit_wait_seconds_total",
  "dc_webhook_requests_total",
  "dc_pipeline_deliveries_total",
];

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
    // The queue's job completes just after the sync's own row.
    await waitFor(
      async () => /^dc_queue_jobs\{queue="[^"]+",state="completed"\} \d+$/m.test((await scrape({ token })).text),
      {
        what: "a completed queue job",
      },
    );
  });

  test("every metric is listed, and moves after syncs, a webhook and a refused webhook", async () => {
    const TOKEN = "ghp_metricsTokenForTests0123456789";
    const repo = new GitRepo();
    repo.commit({ "README.md": "# m\n", "src/a.ts": "export const a = 1;\n", "logo.bin": Buffer.from([0, 1, 0, 2]) });
    const github = await startGitHubFake({ owner: "octo", name: "metrics", token: TOKEN, repo });
    const pipeline = await startPipelineFake();
    process.env.GITHUB_API_URL = github.base;
    process.env.APP_URL = "https://connector.example.test";
    process.env.PIPELINE_EMBED_URL = pipeline.env.PIPELINE_EMBED_URL;
    const value = (text: string, name: string, labels: Record<string, string> = {}) => sample(text, name, labels) ?? 0;
    try {
      const before = (await scrape({ token })).text;
      for (const name of FAMILIES) assert.match(before, new RegExp(`^# TYPE ${name} `, "m"), name);
      for (const outcome of ["indexed", "unchanged", "skipped", "failed", "deleted"])
        assert.notEqual(
          sample(before, "dc_files_total", { outcome }),
          null,
          `dc_files_total{outcome="${outcome}"} is listed before any sync`,
        );

      // A first sync; a stage that fails once, then accepts.
      pipeline.failNext(1);
      const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "github", name: "octo/metrics", config: { token: TOKEN } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.equal((await waitForJob(created.json.jobId)).status, "completed");
      const sourceId = created.json.source.id as string;
      // A full sync again: nothing changed, nothing is read twice.
      const full = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
        token,
        params: { id: sourceId },
        body: { type: "full" },
      });
      assert.equal((await waitForJob(full.json.jobId)).status, "completed");

      // A push, whose sync is rate-limited once; the same delivery again; a forged one.
      const secret = github.hooks.at(-1)!.secret;
      const previous = repo.head();
      repo.commit({ "src/a.ts": "export const a = 2;\n", "README.md": null });
      github.inject(/^GET \/repos\/octo\/metrics\/compare\//, 429, {
        headers: { "retry-after": "1" },
        body: JSON.stringify({ message: "API rate limit exceeded" }),
      });
      const body = JSON.stringify({
        ref: "refs/heads/main",
        before: previous,
        after: repo.head(),
        commits: [],
        repository: { full_name: "octo/metrics" },
      });
      const push = (signingSecret: string, delivery: string) =>
        githubWebhookRoute.POST(
          new Request("http://localhost/api/webhooks/github", {
            method: "POST",
            body,
            headers: {
              "content-type": "application/json",
              "x-github-event": "push",
              "x-github-delivery": delivery,
              "x-github-hook-id": String(github.hooks.at(-1)!.id),
              "x-hub-signature-256": `sha256=${createHmac("sha256", signingSecret).update(body).digest("hex")}`,
            },
          }),
        );
      const delivery = randomUUID();
      assert.equal((await push(secret, delivery)).status, 202);
      const again = await push(secret, delivery);
      assert.equal(again.status, 202);
      assert.equal((await again.json()).duplicate, true, "a repeated delivery is a duplicate");
      assert.equal((await push("forged", randomUUID())).status, 401);
      const webhookJob = await waitFor(
        async () =>
          (
            await db()
              .select()
              .from(syncJobs)
              .where(sql`${syncJobs.trigger} = 'webhook'`)
          )[0],
        { what: "the webhook's sync" },
      );
      assert.equal((await waitForJob(webhookJob.id)).status, "completed");

      const after = (await scrape({ token })).text;
      const moved = (name: string, labels: Record<string, string> = {}) =>
        value(after, name, labels) - value(before, name, labels);
      assert.equal(moved("dc_files_total", { outcome: "indexed" }), 3, "README.md and src/a.ts, then src/a.ts again");
      assert.equal(moved("dc_files_total", { outcome: "skipped" }), 2, "logo.bin is binary, at both full syncs");
      assert.equal(moved("dc_files_total", { outcome: "unchanged" }), 2, "the full sync read nothing");
      assert.equal(moved("dc_files_total", { outcome: "deleted" }), 1, "README.md");
      assert.ok(moved("dc_provider_requests_total", { provider: "github", status: "200" }) >= 4);
      assert.equal(moved("dc_provider_requests_total", { provider: "github", status: "429" }), 1);
      assert.ok(moved("dc_provider_rate_limit_wait_seconds_total", { provider: "github" }) >= 1);
      assert.equal(moved("dc_webhook_requests_total", { provider: "github", outcome: "accepted" }), 1);
      assert.equal(moved("dc_webhook_requests_total", { provider: "github", outcome: "duplicate" }), 1);
      assert.equal(moved("dc_webhook_requests_total", { provider: "github", outcome: "refused" }), 1);
      assert.equal(moved("dc_pipeline_deliveries_total", { stage: "embed", outcome: "failed" }), 1);
      assert.equal(moved("dc_pipeline_deliveries_total", { stage: "embed", outcome: "delivered" }), 4);
      assert.equal(sample(after, "dc_sync_duration_seconds_count", { type: "incremental" }), 1);
      assert.equal(sample(after, "dc_sources", { type: "github", status: "synced" }), 1);
      assert.ok(
        value(after, "dc_sync_jobs_total", { type: "incremental", trigger: "webhook", status: "completed" }) === 1,
      );

      // What a worker process publishes with its heartbeat holds every counter, and a scrape of
      // the web server adds it: here, this process's own snapshot published as another worker's.
      const snapshot = await processMetrics.getMetricsAsJSON();
      for (const name of PUBLISHED)
        assert.ok(
          snapshot.some((m) => m.name === name && m.values.length > 0),
          `${name} is published`,
        );
      await db()
        .insert(workers)
        .values({
          id: "0b8f0e0a-4d7e-4a55-8d7e-3c1d2b3a4f03",
          pid: 1,
          host: "elsewhere",
          version: "0.1.0",
          startedAt: new Date(),
          lastSeenAt: sql`now()`,
          metrics: snapshot,
        });
      const summed = (await scrape({ token })).text;
      for (const [name, labels] of [
        ["dc_files_total", { outcome: "indexed" }],
        ["dc_provider_requests_total", { provider: "github", status: "429" }],
        ["dc_provider_rate_limit_wait_seconds_total", { provider: "github" }],
        ["dc_webhook_requests_total", { provider: "github", outcome: "refused" }],
        ["dc_pipeline_deliveries_total", { stage: "embed", outcome: "delivered" }],
      ] as const) {
        assert.equal(value(summed, name, labels), 2 * value(after, name, labels), name);
      }
    } finally {
      delete process.env.PIPELINE_EMBED_URL;
      await db().execute(sql`delete from workers where host = 'elsewhere'`);
      await github.close();
      await pipeline.close();
    }
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
