import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import autocannon, { type Result } from "autocannon";
import pg from "pg";
import { GitRepo } from "../test/fakes/git-repo";
import { startGitHubFake } from "../test/fakes/github-fake";
import { writeResults, type Metric } from "./results";

// npm run bench:webhook-load — from this process (autocannon) against the built app under the
// web server `npm start` runs (server.ts) on loopback, with one worker process draining the syncs:
// 1. signed GitHub push webhooks for BENCH_WEBHOOK_SECONDS (60) over BENCH_WEBHOOK_SOURCES (20)
//    sources: req/s, p50, p99; then every accepted delivery is checked to be in webhook_events
//    exactly once and to be followed by a completed sync of its source. For comparison, the
//    same load through Next's own server (`next start`), where Next's pipeline runs first.
// 2. the list endpoints with BENCH_LIST_SOURCES (10,000) sources and BENCH_LIST_FILES
//    (1,000,000) files seeded by generate_series: p50/p99 per endpoint for BENCH_LIST_SECONDS (10).
// Resets the schema of BENCH_DATABASE_URL (default the dc_prove database). Builds the app
// first when there is no build.
const DB_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/dc_prove";
const SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 60);
const SOURCES = Number(process.env.BENCH_WEBHOOK_SOURCES ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
// At least two: one big source and the small ones.
const LIST_SOURCES = Math.max(2, Number(process.env.BENCH_LIST_SOURCES ?? 10_000));
// The page that starts halfway down the list (the 5,000th of 10,000).
const MID_SOURCE = Math.floor(LIST_SOURCES / 2);
const LIST_FILES = Number(process.env.BENCH_LIST_FILES ?? 1_000_000);
const LIST_SECONDS = Number(process.env.BENCH_LIST_SECONDS ?? 10);
const TOKEN = "ghp_loadbench";
const SECRET_PREFIX = "load-secret-";
const root = process.cwd();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function spawnLogged(args: string[], env: NodeJS.ProcessEnv, ready?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  process.once("exit", () => child.kill("SIGKILL"));
  return new Promise((resolve, reject) => {
    if (!ready) return resolve(child);
    child.stdout!.on("data", (d: Buffer) => d.toString().includes(ready) && resolve(child));
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  process.env.DATABASE_URL = DB_URL;
  process.env.ENCRYPTION_KEYS ??= `bench:${randomBytes(32).toString("base64")}`;
  if (!existsSync(path.join(root, ".next", "BUILD_ID"))) {
    console.log("[bench] no build yet: npm run build");
    execFileSync("npm", ["run", "build"], { stdio: "inherit" });
  }
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  await client.query(
    "drop schema if exists public cascade; drop schema if exists pgboss cascade; drop schema if exists drizzle cascade; create schema public;",
  );
  const { runMigrations } = await import("@/lib/db/migrate");
  await runMigrations(DB_URL);
  const { sealProviderToken, sealWebhookSecret } = await import("@/lib/oauth/provider-token");
  const { createApiToken } = await import("@/lib/auth/api-tokens");
  const { closeDb } = await import("@/lib/db/client");

  const repo = new GitRepo();
  repo.commit({ "README.md": "# load\n", "src/index.ts": "export const x = 1;\n" }, {}, "initial");
  const github = await startGitHubFake({ owner: "octo", name: "load-0", token: TOKEN, repo, anyRepo: true });
  const head = repo.head();
  const sourceIds: string[] = [];
  for (let i = 0; i < SOURCES; i++) {
    const id = randomUUID();
    const name = `octo/load-${i}`;
    await client.query(
      `insert into sources (id, type, name, config, status, cursor, last_sync_at, token_secret, webhook_id, webhook_secret) values ($1, 'github', $2, $3, 'synced', $4, now(), $5, $6, $7)`,
      [
        id,
        name,
        JSON.stringify({ repo: name, branch: "main" }),
        head,
        sealProviderToken(id, TOKEN),
        String(i + 1),
        sealWebhookSecret(id, `${SECRET_PREFIX}${i}`),
      ],
    );
    sourceIds.push(id);
  }
  const apiToken = await createApiToken("bench", null);

  const env = {
    ...process.env,
    DATABASE_URL: DB_URL,
    GITHUB_API_URL: github.base,
    WORKER_WATCH: "false",
    NODE_ENV: "production" as const,
  };
  const startWorker = () =>
    spawnLogged(["--max-semi-space-size=16", "--import", "tsx", "worker/index.ts"], env, "worker ready");
  const startWeb = async (args: string[]) => {
    const port = await freePort();
    const child = await spawnLogged([...args, "-p", String(port), "-H", "127.0.0.1"], env);
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(
      () =>
        fetch(`${url}/api/health`).then(
          (r) => r.ok,
          () => false,
        ),
      60_000,
      args.join(" "),
    );
    return { child, url };
  };
  const { child: web, url: base } = await startWeb(["--import", "tsx", "server.ts"]);

  // Every request has its own delivery id and its own body (a replayed body is a duplicate).
  const signedPush = (i: number, id: string) => {
    const body = JSON.stringify({
      ref: "refs/heads/main",
      before: head,
      after: head,
      commits: [],
      repository: { full_name: `octo/load-${i}` },
      delivery: id,
    });
    return { body, signature: `sha256=${createHmac("sha256", `${SECRET_PREFIX}${i}`).update(body).digest("hex")}` };
  };
  let counter = 0;
  const accepted: string[] = [];
  const webhookRequest = {
    method: "POST",
    path: "/api/webhooks/github",
    setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
      const i = counter++ % SOURCES;
      const id = randomUUID();
      context.id = id;
      const { body, signature } = signedPush(i, id);
      return {
        ...req,
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": id,
          "x-github-hook-id": String(i + 1),
          "x-hub-signature-256": signature,
        },
      };
    },
    onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
      if (status === 202) accepted.push(context.id as string);
    },
  };
  console.log(`[bench] warm-up: 5 s of webhooks`);
  await autocannon({ url: base, connections: CONNECTIONS, duration: 5, requests: [webhookRequest] });
  await new Promise((r) => setTimeout(r, 500));
  accepted.length = 0;
  await client.query("truncate webhook_events");

  // Two runs of the same load: the web server alone (the worker is started afterwards to
  // drain the queued syncs), then with the worker syncing at the same time on the same cores.
  const runs: { label: string; result: Result; accepted: number }[] = [];
  let worker: ChildProcess | null = null;
  for (const label of ["ingestion alone", "with the worker syncing"]) {
    if (label !== "ingestion alone") worker ??= await startWorker();
    const from = accepted.length;
    // Commits land during the run, so that the syncs the webhooks start have work to do.
    const committer = setInterval(
      () => repo.commit({ [`src/c${Date.now()}.ts`]: `export const t = ${Date.now()};\n` }, {}, "tick"),
      5_000,
    );
    console.log(
      `[bench] ${SECONDS} s of signed GitHub webhooks, ${CONNECTIONS} connections, ${SOURCES} sources, ${label}`,
    );
    const result: Result = await autocannon({
      url: base,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [webhookRequest],
    });
    clearInterval(committer);
    runs.push({ label, result, accepted: accepted.length - from });
    console.log(
      `[bench] webhooks, ${label}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result["2xx"]} accepted, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
    worker ??= await startWorker();
  }

  // The floor: the same route answering before any database work (415, wrong content type),
  // on the same server and cores: what Next.js itself costs per request here.
  const floor: Result = await autocannon({
    url: `${base}/api/webhooks/github`,
    connections: CONNECTIONS,
    duration: Math.max(5, Math.round(SECONDS / 3)),
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "x",
  });
  console.log(
    `[bench] floor (same route, 415 before any database work): ${Math.round(floor.requests.average)} req/s, p50 ${floor.latency.p50} ms, p99 ${floor.latency.p99} ms`,
  );

  // The same signed load through `next start`, where Next's request pipeline runs before the
  // same handler (what server.ts skips for webhooks), with the worker still syncing.
  const viaNext = await startWeb([path.join(root, "node_modules", "next", "dist", "bin", "next"), "start"]);
  const nextFrom = accepted.length;
  const nextSeconds = Math.max(10, Math.round(SECONDS / 3));
  console.log(`[bench] ${nextSeconds} s of the same webhooks through next start, with the worker syncing`);
  const throughNext: Result = await autocannon({
    url: viaNext.url,
    connections: CONNECTIONS,
    duration: nextSeconds,
    requests: [webhookRequest],
  });
  viaNext.child.kill("SIGTERM");
  runs.push({ label: "through next start", result: throughNext, accepted: accepted.length - nextFrom });
  console.log(
    `[bench] webhooks, through next start: ${Math.round(throughNext.requests.average)} req/s, p50 ${throughNext.latency.p50} ms, p99 ${throughNext.latency.p99} ms, ${throughNext["2xx"]} accepted, ${throughNext.non2xx} non-2xx`,
  );

  // Every accepted delivery recorded exactly once, each followed by a completed sync.
  await waitUntil(
    async () =>
      (await client.query(`select count(*)::int as n from sync_jobs where status in ('queued', 'running')`)).rows[0]
        .n === 0,
    180_000,
    "the worker to drain the syncs",
  );
  const events = (
    await client.query(
      `select delivery_id, count(*)::int as n from webhook_events where source_type = 'github' group by 1`,
    )
  ).rows as { delivery_id: string; n: number }[];
  const recorded = new Map(events.map((e) => [e.delivery_id, e.n]));
  const lost = accepted.filter((id) => !recorded.has(id)).length;
  const twice = events.filter((e) => e.n > 1).length;
  const unsynced = (
    await client.query(`select count(*)::int as n from webhook_events e where e.source_type = 'github' and (not e.processed or not exists (
      select 1 from sync_jobs j where j.source_id = e.source_id and j.status = 'completed' and j.started_at >= e.created_at))`)
  ).rows[0].n as number;
  const syncs = (
    await client.query(
      `select count(*)::int as n, count(*) filter (where status = 'failed')::int as failed from sync_jobs where trigger = 'webhook'`,
    )
  ).rows[0];
  const indexedHead = (
    await client.query(`select count(*)::int as n from sources where type = 'github' and cursor = $1`, [repo.head()])
  ).rows[0].n as number;
  console.log(
    `[bench] accepted ${accepted.length}, recorded ${recorded.size} (the rest were in flight when a run ended), lost ${lost}, recorded twice ${twice}, not followed by a sync ${unsynced}; ${syncs.n} webhook syncs (${syncs.failed} failed), ${indexedHead}/${SOURCES} sources at the last commit`,
  );
  worker!.kill("SIGTERM");

  // The list endpoints against BENCH_LIST_SOURCES sources and BENCH_LIST_FILES files.
  console.log(`[bench] seeding ${LIST_SOURCES} sources and ${LIST_FILES} files`);
  const seedStart = Date.now();
  const bigFiles = Math.floor(LIST_FILES / 2);
  const perSmall = Math.floor((LIST_FILES - bigFiles) / (LIST_SOURCES - 1));
  await client.query(
    `insert into sources (type, name, config, status, last_sync_at, created_at)
    select 'local', 'list-' || g, jsonb_build_object('path', '/srv/list/' || g), 'synced', now(), now() - (g || ' seconds')::interval from generate_series(1, $1::int) g`,
    [LIST_SOURCES],
  );
  const big = (await client.query(`select id from sources where name = 'list-1'`)).rows[0].id as string;
  const small = (await client.query(`select id from sources where name = 'list-2'`)).rows[0].id as string;
  await client.query(
    `insert into files (source_id, path, sha, size, language, indexed_at)
    select $1::uuid, 'big/dir' || (g % 1000) || '/file' || g || '.ts', md5(g::text), 100 + g % 5000, 'typescript', now() from generate_series(1, $2::int) g`,
    [big, LIST_FILES - perSmall * (LIST_SOURCES - 1)],
  );
  await client.query(
    `insert into files (source_id, path, sha, size, language, indexed_at)
    select s.id, 'src/file' || g || (case when g % 3 = 0 then '.py' else '.ts' end), md5(s.id::text || g), 100, case when g % 3 = 0 then 'python' else 'typescript' end, now()
    from sources s cross join generate_series(1, $1::int) g where s.type = 'local' and s.id <> $2::uuid`,
    [perSmall, big],
  );
  await client.query(`insert into sync_jobs (source_id, type, trigger, status, progress, started_at, completed_at)
    select id, 'full', 'create', 'completed', 100, now(), now() from sources where type = 'local'`);
  await client.query("analyze");
  const seeded = (
    await client.query(`select (select count(*) from sources)::int as s, (select count(*) from files)::int as f`)
  ).rows[0];
  console.log(
    `[bench] seeded ${seeded.s} sources, ${seeded.f} files in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`,
  );

  const auth = { authorization: `Bearer ${apiToken}` };
  const deepCursor = Buffer.from("big/dir5/file500005.ts").toString("base64url");
  // The nextCursor of the page ending at the MID_SOURCE-th source, walked to through the API.
  let sourcesCursor = "";
  for (let left = MID_SOURCE - 1; left > 0;) {
    const limit = Math.min(left, 1000);
    const res = await fetch(`${base}/api/sources?limit=${limit}${sourcesCursor ? `&cursor=${sourcesCursor}` : ""}`, {
      headers: auth,
    });
    if (!res.ok) throw new Error(`GET /api/sources answered ${res.status}: ${await res.text()}`);
    sourcesCursor = ((await res.json()) as { nextCursor: string | null }).nextCursor ?? "";
    left -= limit;
  }
  const endpoints: [string, string][] = [
    [`GET /api/sources (all ${LIST_SOURCES.toLocaleString("en")})`, "/api/sources"],
    ["GET /api/sources?limit=100 (first page)", "/api/sources?limit=100"],
    [
      `GET /api/sources?limit=100 (from the ${MID_SOURCE.toLocaleString("en")}th)`,
      `/api/sources?limit=100&cursor=${sourcesCursor}`,
    ],
    ["GET /api/sources/:id", `/api/sources/${big}`],
    ["GET /api/sources/:id/files (500,000-file source, first page)", `/api/sources/${big}/files?limit=100`],
    ["GET /api/sources/:id/files (deep cursor)", `/api/sources/${big}/files?limit=100&cursor=${deepCursor}`],
    [
      "GET /api/sources/:id/files?prefix= (500,000-file source)",
      `/api/sources/${big}/files?limit=100&prefix=big/dir777/`,
    ],
    ["GET /api/sources/:id/files?language= (small source)", `/api/sources/${small}/files?limit=100&language=python`],
    ["GET /api/jobs", "/api/jobs?limit=50"],
  ];
  const listMetrics: Metric[] = [];
  const listRows: string[] = [];
  for (const [label, url] of endpoints) {
    // An endpoint that refuses the request would be measuring its error page.
    const probe = await fetch(`${base}${url}`, { headers: auth });
    if (!probe.ok) throw new Error(`${label} answered ${probe.status}: ${await probe.text()}`);
    const r = await autocannon({
      url: `${base}${url}`,
      connections: 4,
      duration: LIST_SECONDS,
      headers: auth,
      timeout: 30,
    });
    const line = `${label}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (${r["2xx"]} ok, ${r.non2xx} non-2xx, ${r.errors} errors)`;
    console.log(`[bench] ${line}`);
    listRows.push(line);
    listMetrics.push({ label: `${label} p99`, value: r.latency.p99, unit: "ms", kind: "latency" });
    listMetrics.push({
      label: `${label} req/s`,
      value: Math.round(r.requests.average),
      unit: "req/s",
      kind: "throughput",
    });
  }

  writeResults({
    bench: "webhook-load",
    title: `Signed GitHub webhooks for ${SECONDS} s (${CONNECTIONS} connections, server.ts + 1 worker; and through next start), then list endpoints with ${seeded.s} sources / ${seeded.f} files`,
    metrics: [
      ...runs.flatMap(({ label, result }) => [
        {
          label: `webhooks req/s, ${label}`,
          value: Math.round(result.requests.average),
          unit: "req/s",
          kind: "throughput" as const,
        },
        { label: `webhooks p50, ${label}`, value: result.latency.p50, unit: "ms", kind: "latency" as const },
        { label: `webhooks p99, ${label}`, value: result.latency.p99, unit: "ms", kind: "latency" as const },
      ]),
      {
        label: "floor req/s (415, no database)",
        value: Math.round(floor.requests.average),
        unit: "req/s",
        kind: "throughput",
      },
      { label: "floor p99 (415, no database)", value: floor.latency.p99, unit: "ms", kind: "latency" },
      { label: "webhooks accepted", value: accepted.length, unit: "requests", kind: "count" },
      { label: "accepted but not recorded", value: lost, unit: "events", kind: "count" },
      { label: "recorded twice", value: twice, unit: "events", kind: "count" },
      { label: "recorded, no sync after", value: unsynced, unit: "events", kind: "count" },
      ...listMetrics,
    ],
    notes: [
      ...runs.map(
        ({ label, result }) =>
          `webhooks, ${label}: ${result["2xx"]} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
      ),
      `${syncs.n} webhook syncs (${syncs.failed} failed); ${indexedHead}/${SOURCES} sources at the last commit; ${recorded.size - accepted.length} recorded events were in flight when a run ended`,
      ...listRows.map((r) => `list: ${r}`),
    ],
  });
  web.kill("SIGTERM");
  await github.close();
  await client.end();
  await closeDb();
  process.exit(lost === 0 && twice === 0 && unsynced === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
