import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { median, writeResults } from "./results";

// npm run bench:scale-out — the same work (BENCH_SCALE_SOURCES local sources of
// BENCH_SCALE_FILES files each, embedded pipeline) synced by one worker process and by two,
// alternately for BENCH_ROUNDS rounds, on one PostgreSQL: wall time from the queued syncs to
// the last completed one, medians and the speed-up. Twice: with each worker running one sync
// at a time (WORKER_CONCURRENCY=1, what a second process adds), then two (the default, where
// one worker already fills two cores); BENCH_WORKER_CONCURRENCY lists them ("1,2").
// Resets the schema of BENCH_DATABASE_URL (default the dc_prove database).
const DB_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/dc_prove";
const SOURCES = Number(process.env.BENCH_SCALE_SOURCES ?? 8);
const FILES = Number(process.env.BENCH_SCALE_FILES ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WORKER_COUNTS = (process.env.BENCH_SCALE_WORKERS ?? "1,2").split(",").map(Number);
const CONCURRENCIES = (process.env.BENCH_WORKER_CONCURRENCY ?? "1,2").split(",").map(Number);

function generate(root: string): string[] {
  const folders: string[] = [];
  for (let s = 0; s < SOURCES; s++) {
    const folder = path.join(root, `s${s}`);
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(folder, `pkg${i % 20}`);
      if (i < 20) mkdirSync(dir, { recursive: true });
      const lines = 10 + (i % 80);
      writeFileSync(
        path.join(dir, `f${i}.ts`),
        Array.from({ length: lines }, (_, l) => `export const v${l} = "${s}-${i}-${l}";`).join("\n"),
      );
    }
    folders.push(folder);
  }
  return folders;
}

async function resetDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  await client.query(
    "drop schema if exists public cascade; drop schema if exists pgboss cascade; drop schema if exists drizzle cascade; create schema public;",
  );
  await client.end();
  const { runMigrations } = await import("@/lib/db/migrate");
  await runMigrations(DB_URL);
}

async function startWorker(concurrency: number): Promise<ChildProcess> {
  const worker = spawn(process.execPath, ["--max-semi-space-size=16", "--import", "tsx", "worker/index.ts"], {
    env: { ...process.env, DATABASE_URL: DB_URL, WORKER_WATCH: "false", WORKER_CONCURRENCY: String(concurrency) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.once("exit", () => worker.kill("SIGKILL"));
  await new Promise<void>((resolve) =>
    worker.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()),
  );
  return worker;
}

async function run(workers: number, concurrency: number, folders: string[]): Promise<number> {
  await resetDatabase();
  const { closeDb, getDb } = await import("@/lib/db/client");
  const { stopBoss } = await import("@/lib/queue/boss");
  const { requestSync } = await import("@/lib/queue/request-sync");
  const { sources } = await import("@/lib/db/schema");
  const ids: string[] = [];
  for (const [s, folder] of folders.entries()) {
    const [row] = await getDb()
      .insert(sources)
      .values({ type: "local", name: `s${s}`, config: { path: folder } })
      .returning({ id: sources.id });
    ids.push(row!.id);
  }
  // Workers first, ready and idle; then every sync is queued at once and the clock starts.
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(concurrency)));
  const started = Date.now();
  for (const id of ids) await requestSync({ sourceId: id, type: "full", trigger: "manual" });
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  for (;;) {
    const { rows } = await client.query(
      `select count(*) filter (where status in ('queued', 'running'))::int as open, count(*) filter (where status = 'failed')::int as failed from sync_jobs`,
    );
    if (rows[0].failed > 0) throw new Error("a sync failed");
    if (rows[0].open === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = (Date.now() - started) / 1000;
  const { rows } = await client.query(`select count(*)::int as n from files`);
  if (rows[0].n !== SOURCES * FILES) throw new Error(`indexed ${rows[0].n} files, expected ${SOURCES * FILES}`);
  await client.end();
  await Promise.all(children.map((c) => new Promise((resolve) => (c.once("exit", resolve), c.kill("SIGTERM")))));
  await stopBoss({ timeout: 5000 });
  await closeDb();
  return elapsed;
}

async function main() {
  process.env.DATABASE_URL = DB_URL;
  process.env.ENCRYPTION_KEYS ??= `bench:${randomBytes(32).toString("base64")}`;
  const root = path.join(os.tmpdir(), `dc-scale-bench-${process.pid}`);
  process.env.LOCAL_SOURCE_ROOTS = root;
  const folders = generate(root);
  console.log(
    `[bench] ${SOURCES} sources × ${FILES} files; workers ${WORKER_COUNTS.join(" vs ")}; WORKER_CONCURRENCY ${CONCURRENCIES.join(", ")}; ${ROUNDS} rounds, alternating`,
  );
  const key = (w: number, c: number) => `${w}x${c}`;
  const times = new Map<string, number[]>(
    CONCURRENCIES.flatMap((c) => WORKER_COUNTS.map((w) => [key(w, c), []] as [string, number[]])),
  );
  try {
    for (const c of CONCURRENCIES) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const w of round % 2 ? [...WORKER_COUNTS].reverse() : WORKER_COUNTS) {
          const t = await run(w, c, folders);
          times.get(key(w, c))!.push(t);
          console.log(
            `[bench] WORKER_CONCURRENCY=${c}, round ${round + 1}, ${w} worker(s): ${t.toFixed(1)} s, ${Math.round((SOURCES * FILES) / t)} files/s`,
          );
        }
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const total = SOURCES * FILES;
  const metrics = CONCURRENCIES.flatMap((c) => {
    const med = WORKER_COUNTS.map((w) => ({ w, t: median(times.get(key(w, c))!) }));
    const one = med.find((m) => m.w === 1)?.t ?? med[0]!.t;
    return med.flatMap((m) => {
      console.log(
        `[bench] WORKER_CONCURRENCY=${c}, ${m.w} worker(s): median ${m.t.toFixed(1)} s, ${Math.round(total / m.t)} files/s, speed-up ${(one / m.t).toFixed(2)}x`,
      );
      const label = `${m.w} worker(s) × ${c} sync(s)`;
      return [
        { label: `${label} files/s`, value: Math.round(total / m.t), unit: "files/s", kind: "throughput" as const },
        { label: `${label} wall time`, value: Math.round(m.t * 10) / 10, unit: "s", kind: "time" as const },
        { label: `${label} speed-up`, value: Math.round((one / m.t) * 100) / 100, unit: "x", kind: "ratio" as const },
      ];
    });
  });
  writeResults({
    bench: "scale-out",
    title: `${SOURCES} local sources × ${FILES} files synced by 1 and by 2 worker processes, each running ${CONCURRENCIES.join(" or ")} syncs at once (median of ${ROUNDS}, alternating, same PostgreSQL, ${os.cpus().length} cores)`,
    metrics,
    notes: [...times].map(
      ([k, ts]) => `${k.replace("x", " worker(s) × ")} sync(s): ${ts.map((t) => t.toFixed(1)).join(", ")} s`,
    ),
  });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
