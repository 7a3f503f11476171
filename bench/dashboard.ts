import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { encode } from "next-auth/jwt";
import pg from "pg";
import { runMigrations } from "@/lib/db/migrate";

// npm run bench:dashboard — server response time and HTML size of the dashboard's heaviest pages,
// each loaded 50 times (after 5 warm-up loads) from the built app (`npm run build` first), signed
// in with a session cookie: the sources page at 10,000 sources (first page, a search, a status
// filter), the jobs page (30,000 jobs), and the source page whose file browser opens a
// 100,000-file source. The database is seeded directly. Goals: every p99 under 200 ms, every
// page under 100 KB of HTML.
//
// DATABASE_URL names a scratch database: its schema is dropped and recreated. BENCH_HTML_DIR, when
// set, keeps each page's HTML there.
const URL_ = process.env.DATABASE_URL;
const SOURCES = Number(process.env.BENCH_SOURCES ?? 10_000);
const BIG_FILES = Number(process.env.BENCH_BIG_FILES ?? 100_000);
const LOADS = Number(process.env.BENCH_LOADS ?? 50);
const PORT = Number(process.env.BENCH_PORT ?? 3990);
const GOAL_P99_MS = 200;
/** When set, each page's last body is written there (to see what makes a page heavy). */
const HTML_DIR = process.env.BENCH_HTML_DIR;
const GOAL_PAGE_BYTES = 100 * 1024;

async function seed(url: string): Promise<{ userId: string; bigSourceId: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    "drop schema if exists public cascade; drop schema if exists pgboss cascade; drop schema if exists drizzle cascade; create schema public;",
  );
  await client.end();
  await runMigrations(url);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const started = Date.now();
  const {
    rows: [user],
  } = await db.query<{ id: string }>(
    "insert into users (email, role) values ('bench@example.com', 'admin') returning id",
  );
  // The sources, each with 20 files and 3 jobs; every tenth one is syncing right now, every 37th in error.
  await db.query(
    `insert into sources (user_id, type, name, config, status, last_sync_at, created_at)
     select $1, (array['local','github','gitlab','bitbucket','gdrive','dropbox'])[1 + i % 6], 'source-' || i,
            jsonb_build_object('path', '/srv/code/' || i, 'exclude', jsonb_build_array('**/*.min.js')),
            case when i % 10 = 0 then 'syncing' when i % 37 = 0 then 'error' else 'synced' end,
            now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
     from generate_series(1, $2) i`,
    [user!.id, SOURCES - 1],
  );
  await db.query(
    `insert into sync_jobs (source_id, type, trigger, status, progress, files_total, files_processed, files_skipped, files_failed, error_message, started_at, completed_at, created_at)
     select s.id, case when j = 3 then 'incremental' else 'full' end, 'api',
            case when j < 3 then 'completed' when s.status = 'syncing' then 'running' when s.status = 'error' then 'failed' else 'completed' end,
            case when j = 3 and s.status = 'syncing' then 40 else 100 end, 20, 8, 12, 0,
            case when j = 3 and s.status = 'error' then 'The provider answered 401.' end,
            now() - ((4 - j) || ' hours')::interval, case when j = 3 and s.status = 'syncing' then null else now() - ((4 - j) || ' hours')::interval + interval '5 seconds' end,
            now() - ((4 - j) || ' hours')::interval
     from sources s, generate_series(1, 3) j`,
  );
  await db.query(
    `insert into files (source_id, path, sha, size, language, indexed_at)
     select s.id, 'src/file-' || f || '.ts', md5(s.id::text || f) || md5(f::text), 100 + f, 'typescript', now()
     from sources s, generate_series(1, 20) f`,
  );
  const {
    rows: [big],
  } = await db.query<{ id: string }>(
    "insert into sources (user_id, type, name, config, status, last_sync_at) values ($1, 'github', 'acme/monorepo', '{\"repo\":\"acme/monorepo\",\"branch\":\"main\"}', 'synced', now()) returning id",
    [user!.id],
  );
  const langs = "array['typescript','python','go','markdown','json','rust','java','yaml']";
  await db.query(
    `insert into files (source_id, path, sha, size, language, last_modified, indexed_at)
     select $1, 'packages/pkg-' || (f % 300) || '/src/module-' || f || '.ts', md5(f::text) || md5((f * 7)::text), 200 + f % 5000,
            (${langs})[1 + f % 8], now() - (f || ' seconds')::interval, now()
     from generate_series(1, $2) f`,
    [big!.id, BIG_FILES],
  );
  await db.query(
    `insert into sync_jobs (source_id, type, trigger, status, progress, files_total, files_processed, started_at, completed_at)
     values ($1, 'full', 'create', 'completed', 100, $2, $2, now() - interval '10 minutes', now() - interval '2 minutes')`,
    [big!.id, BIG_FILES],
  );
  await db.query("analyze");
  const {
    rows: [counts],
  } = await db.query<{ sources: number; files: number }>(
    "select (select count(*) from sources)::int as sources, (select count(*) from files)::int as files",
  );
  console.log(
    `[bench] seeded ${counts!.sources} sources and ${counts!.files.toLocaleString("en")} files in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  await db.end();
  return { userId: user!.id, bigSourceId: big!.id };
}

async function waitFor(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in time`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

type Result = { p99: number; bytes: number; page: boolean };

async function measure(
  label: string,
  url: string,
  cookie: string,
  check: (html: string) => boolean,
  page = true,
): Promise<Result> {
  const load = async () => {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { cookie }, redirect: "manual" });
    const body = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200 || !check(body))
      throw new Error(`${label}: answered ${res.status} without the expected content`);
    return { ms, bytes: Buffer.byteLength(body, "utf8") };
  };
  for (let i = 0; i < 5; i++) await load();
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < LOADS; i++) {
    const r = await load();
    times.push(r.ms);
    bytes = r.bytes;
  }
  times.sort((a, b) => a - b);
  if (HTML_DIR) {
    mkdirSync(HTML_DIR, { recursive: true });
    const body = await fetch(url, { headers: { cookie } }).then((r) => r.text());
    writeFileSync(path.join(HTML_DIR, `${label.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.html`), body);
  }
  const p99 = percentile(times, 99);
  const verdicts = [
    p99 < GOAL_P99_MS ? "" : `p99 over ${GOAL_P99_MS} ms`,
    !page || bytes < GOAL_PAGE_BYTES ? "" : `over ${GOAL_PAGE_BYTES / 1024} KB`,
  ].filter(Boolean);
  console.log(
    `${label.padEnd(48)} p50 ${percentile(times, 50).toFixed(1).padStart(6)} ms   p99 ${p99.toFixed(1).padStart(6)} ms   max ${times.at(-1)!.toFixed(1).padStart(6)} ms   ${(bytes / 1024).toFixed(1).padStart(6)} KB   ${verdicts.length ? verdicts.join(", ") : "ok"}`,
  );
  return { p99, bytes, page };
}

async function main(): Promise<void> {
  if (!URL_)
    throw new Error("Set DATABASE_URL to a scratch PostgreSQL database (its schema is dropped and recreated).");
  const root = process.cwd();
  if (!existsSync(path.join(root, ".next", "BUILD_ID"))) throw new Error("No build: run `npm run build` first.");
  const { userId, bigSourceId } = await seed(URL_);

  const secret = randomBytes(32).toString("base64url");
  const env = {
    ...process.env,
    DATABASE_URL: URL_,
    AUTH_SECRET: secret,
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    PORT: String(PORT),
    APP_URL: "",
    AUTH_URL: "",
  };
  const server = spawn(process.execPath, ["--import", "tsx", "server.ts", "-p", String(PORT)], {
    cwd: root,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    const base = `http://127.0.0.1:${PORT}`;
    await waitFor(`${base}/api/health`, Date.now() + 60_000);
    const cookieName = "dc.session-token";
    const token = await encode({
      // As a sign-in sets it: a session id and the sign-in time.
      token: { sub: userId, email: "bench@example.com", sid: randomUUID(), signedInAt: Math.floor(Date.now() / 1000) },
      secret,
      salt: cookieName,
      maxAge: 3600,
    });
    const cookie = `${cookieName}=${token}`;
    console.log(`[bench] ${LOADS} loads each after 5 warm-up loads, one at a time, against the web server (${base})`);
    const n = SOURCES.toLocaleString("en");
    const results = [
      await measure(
        `sources page, first page of ${n} (errors first)`,
        `${base}/`,
        cookie,
        (html) => html.includes("source-") && html.includes("error"),
      ),
      await measure(`sources page, search "source-12"`, `${base}/?q=source-12`, cookie, (html) =>
        html.includes("source-12"),
      ),
      await measure(`sources page, status=synced`, `${base}/?status=synced`, cookie, (html) =>
        html.includes("source-1"),
      ),
      await measure(
        `jobs page, first page of ${(SOURCES * 3).toLocaleString("en")} jobs`,
        `${base}/jobs`,
        cookie,
        (html) => html.includes("job-row"),
      ),
      await measure(`jobs page, status=failed`, `${base}/jobs?status=failed`, cookie, (html) =>
        html.includes("The provider answered 401."),
      ),
      await measure(
        `source page, file browser of ${BIG_FILES.toLocaleString("en")} files`,
        `${base}/sources/${bigSourceId}`,
        cookie,
        (html) => html.includes("packages/pkg-"),
      ),
      await measure(
        `GET /api/sources (a page of 50, the page's poll)`,
        `${base}/api/sources?sort=status&limit=50`,
        cookie,
        (json) => json.includes("statusCounts"),
        false,
      ),
      await measure(
        `GET /api/sources/:id/files (next page)`,
        `${base}/api/sources/${bigSourceId}/files?limit=100&cursor=${Buffer.from("packages/pkg-5").toString("base64url")}`,
        cookie,
        (json) => json.includes("nextCursor"),
        false,
      ),
    ];
    const ok = results.every((r) => r.p99 < GOAL_P99_MS && (!r.page || r.bytes < GOAL_PAGE_BYTES));
    console.log(
      ok
        ? `[bench] every p99 under ${GOAL_P99_MS} ms, every page under ${GOAL_PAGE_BYTES / 1024} KB`
        : `[bench] some p99 over ${GOAL_P99_MS} ms or some page over ${GOAL_PAGE_BYTES / 1024} KB`,
    );
  } finally {
    server.kill("SIGTERM");
  }
}

main().catch((err) => {
  console.error("[bench]", err instanceof Error ? err.message : err);
  process.exit(1);
});
