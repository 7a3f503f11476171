import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { median, writeResults, type Metric } from "./results";

// npm run bench:scale-out — the same work (BENCH_SCALE_SOURCES local sources of
// BENCH_SCALE_FILES files each, embedded pipeline) synced by one worker process and by two,
// alternately for BENCH_ROUNDS rounds, on one PostgreSQL: wall time from the queued syncs to
// the last completed one, medians and the speed-up. Twice: with each worker running one sync
// at a time (WORKER_CONCURRENCY=1, what a second process adds), then two (the default, where
// one worker already fills two cores); BENCH_WORKER_CONCURRENCY lists them ("1,2").
// Then an I/O-bound run ("io"): BENCH_IO_SOURCES (200) Drive sources of BENCH_IO_FILES (25)
// files each, against the Drive fake answering every request after BENCH_IO_LATENCY_MS (50) ms,
// synced by BENCH_IO_WORKERS ("1,2,4,8") worker processes at the default WORKER_CONCURRENCY:
// files/s, provider requests/s and how busy the machine's CPU was. And the poll schedule alone
// ("schedule", no requests, a fake clock): 10,000 sources polled for BENCH_SCHEDULE_HOURS (6)
// hours, the most polls of each credential in any sliding hour against its budget and the
// longest wait against each source's interval. BENCH_SCALE_RUNS picks the runs ("cpu,io,schedule").
// Resets the schema of BENCH_DATABASE_URL (default the dc_prove database).
const DB_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/dc_prove";
const SOURCES = Number(process.env.BENCH_SCALE_SOURCES ?? 8);
const FILES = Number(process.env.BENCH_SCALE_FILES ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WORKER_COUNTS = (process.env.BENCH_SCALE_WORKERS ?? "1,2").split(",").map(Number);
const CONCURRENCIES = (process.env.BENCH_WORKER_CONCURRENCY ?? "1,2").split(",").map(Number);
const RUNS = (process.env.BENCH_SCALE_RUNS ?? "cpu,io,schedule").split(",");
const IO_SOURCES = Number(process.env.BENCH_IO_SOURCES ?? 200);
const IO_FILES = Number(process.env.BENCH_IO_FILES ?? 25);
const IO_LATENCY_MS = Number(process.env.BENCH_IO_LATENCY_MS ?? 50);
const IO_WORKERS = (process.env.BENCH_IO_WORKERS ?? "1,2,4,8").split(",").map(Number);
const SCHEDULE_HOURS = Number(process.env.BENCH_SCHEDULE_HOURS ?? 6);

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

async function startWorker(concurrency: number | null): Promise<ChildProcess> {
  const worker = spawn(process.execPath, ["--max-semi-space-size=16", "--import", "tsx", "worker/index.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: DB_URL,
      WORKER_WATCH: "false",
      ...(concurrency ? { WORKER_CONCURRENCY: String(concurrency) } : {}),
    },
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
  const { closeDb, getDb, getPool } = await import("@/lib/db/client");
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
  await waitForSyncs();
  const elapsed = (Date.now() - started) / 1000;
  const { rows } = await getPool().query(`select count(*)::int as n from files`);
  if (rows[0].n !== SOURCES * FILES) throw new Error(`indexed ${rows[0].n} files, expected ${SOURCES * FILES}`);
  await Promise.all(children.map((c) => new Promise((resolve) => (c.once("exit", resolve), c.kill("SIGTERM")))));
  await stopBoss({ timeout: 5000 });
  await closeDb();
  return elapsed;
}

/** Waits until no sync is queued or running; throws when one failed. */
async function waitForSyncs(): Promise<void> {
  const client = new pg.Client({ connectionString: DB_URL });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query(
        `select count(*) filter (where status in ('queued', 'running'))::int as open, count(*) filter (where status = 'failed')::int as failed from sync_jobs`,
      );
      if (rows[0].failed > 0) throw new Error("a sync failed");
      if (rows[0].open === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.end();
  }
}

async function runCpu(): Promise<{ metrics: Metric[]; notes: string[]; title: string }> {
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
  return {
    title: `${SOURCES} local sources × ${FILES} files synced by 1 and by 2 worker processes, each running ${CONCURRENCIES.join(" or ")} syncs at once (median of ${ROUNDS}, alternating, same PostgreSQL, ${os.cpus().length} cores)`,
    metrics,
    notes: [...times].map(
      ([k, ts]) => `${k.replace("x", " worker(s) × ")} sync(s): ${ts.map((t) => t.toFixed(1)).join(", ")} s`,
    ),
  };
}

/** The I/O-bound run: Drive sources against a fake that answers after IO_LATENCY_MS. */
async function runIo(): Promise<{ metrics: Metric[]; notes: string[]; title: string }> {
  process.env.ENCRYPTION_KEYS ??= `bench:${randomBytes(32).toString("base64")}`;
  // Polling, not channels: the run measures the syncs alone.
  delete process.env.APP_URL;
  const { startDriveFake } = await import("@/test/fakes/drive-server");
  const drive = await startDriveFake({ latencyMs: IO_LATENCY_MS });
  Object.assign(process.env, drive.env);
  const root = drive.folder("IoBench");
  const folders = Array.from({ length: IO_SOURCES }, (_, s) => {
    const folder = drive.folder(`s${s}`, root);
    for (let i = 0; i < IO_FILES; i++)
      drive.file(`f${i}.ts`, folder, `// ${s}-${i}\n${"export const v = 1;\n".repeat(10 + (i % 40))}`);
    return folder;
  });
  console.log(
    `[bench] I/O bound: ${IO_SOURCES} Drive sources × ${IO_FILES} files, ${IO_LATENCY_MS} ms per request; workers ${IO_WORKERS.join(", ")}`,
  );
  const rows: { w: number; t: number; requests: number; cpu: number | null }[] = [];
  try {
    for (const w of IO_WORKERS) {
      await resetDatabase();
      const { closeDb, getDb, getPool } = await import("@/lib/db/client");
      const { stopBoss } = await import("@/lib/queue/boss");
      const { requestSync } = await import("@/lib/queue/request-sync");
      const { sources } = await import("@/lib/db/schema");
      const { sealProviderToken } = await import("@/lib/oauth/provider-token");
      const ids = folders.map(() => randomUUID());
      await getDb()
        .insert(sources)
        .values(
          folders.map((folderId, s) => ({
            id: ids[s]!,
            type: "gdrive",
            name: `io-${s}`,
            config: { folderId },
            tokenSecret: sealProviderToken(ids[s]!, drive.token),
          })),
        );
      const children = await Promise.all(Array.from({ length: w }, () => startWorker(null)));
      const from = drive.requests.length;
      const ticks = cpuTicks();
      const started = Date.now();
      for (const id of ids) await requestSync({ sourceId: id, type: "full", trigger: "manual" });
      await waitForSyncs();
      const t = (Date.now() - started) / 1000;
      const ticksAfter = cpuTicks();
      const cpu =
        ticks && ticksAfter
          ? Math.round((100 * (ticksAfter.busy - ticks.busy)) / (ticksAfter.total - ticks.total))
          : null;
      const requests = drive.requests.length - from;
      const { rows: counted } = await getPool().query(`select count(*)::int as n from files`);
      if (counted[0].n !== IO_SOURCES * IO_FILES)
        throw new Error(`indexed ${counted[0].n} files, expected ${IO_SOURCES * IO_FILES}`);
      await Promise.all(children.map((c) => new Promise((resolve) => (c.once("exit", resolve), c.kill("SIGTERM")))));
      await stopBoss({ timeout: 5000 });
      await closeDb();
      rows.push({ w, t, requests, cpu });
      console.log(
        `[bench] I/O bound, ${w} worker(s): ${t.toFixed(1)} s, ${Math.round((IO_SOURCES * IO_FILES) / t)} files/s, ${requests} requests, ${Math.round(requests / t)} requests/s, machine CPU ${cpu ?? "?"}% busy`,
      );
    }
  } finally {
    await drive.close();
  }
  const one = rows[0]!.t;
  return {
    title: `I/O bound: ${IO_SOURCES} Drive sources × ${IO_FILES} files, the provider answering after ${IO_LATENCY_MS} ms, by ${IO_WORKERS.join(", ")} worker processes`,
    metrics: rows.flatMap(({ w, t, requests, cpu }) => [
      {
        label: `I/O bound, ${w} worker(s) files/s`,
        value: Math.round((IO_SOURCES * IO_FILES) / t),
        unit: "files/s",
        kind: "throughput" as const,
      },
      {
        label: `I/O bound, ${w} worker(s) provider requests/s`,
        value: Math.round(requests / t),
        unit: "req/s",
        kind: "throughput" as const,
      },
      ...(cpu === null
        ? []
        : [{ label: `I/O bound, ${w} worker(s) machine CPU busy`, value: cpu, unit: "%", kind: "ratio" as const }]),
      {
        label: `I/O bound, ${w} worker(s) speed-up`,
        value: Math.round((one / t) * 100) / 100,
        unit: "x",
        kind: "ratio" as const,
      },
    ]),
    notes: rows.map(({ w, t, requests }) => `I/O bound, ${w} worker(s): ${t.toFixed(1)} s, ${requests} requests`),
  };
}

/**
 * The machine's CPU ticks, busy and in all, from /proc/stat (Linux; null elsewhere): a run whose
 * CPU is busy near 100% is limited by the machine, not by the provider's latency.
 */
function cpuTicks(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - (fields[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** The poll schedule alone on a fake clock: 10,000 sources, no requests. */
async function runSchedule(): Promise<{ metrics: Metric[]; notes: string[]; title: string }> {
  const { simulatePolls } = await import("@/test/poll-simulation");
  const { budgetPerHour, pollSettings } = await import("@/lib/sync/poll-schedule");
  const settings = pollSettings({});
  const scenarios: { name: string; groups: { key: string; type: string; count: number }[] }[] = [
    { name: "10,000 GitHub sources on one token", groups: [{ key: "github token", type: "github", count: 10_000 }] },
    {
      name: "10,000 sources on five credentials",
      groups: [
        { key: "github token", type: "github", count: 4_000 },
        { key: "gitlab account", type: "gitlab", count: 2_000 },
        { key: "bitbucket account", type: "bitbucket", count: 2_000 },
        { key: "drive account", type: "gdrive", count: 1_000 },
        { key: "dropbox account", type: "dropbox", count: 1_000 },
      ],
    },
  ];
  const metrics: Metric[] = [];
  const notes: string[] = [];
  for (const scenario of scenarios) {
    const started = Date.now();
    const perHour = new Map(scenario.groups.map((g) => [g.key, budgetPerHour(g.type, true, settings)]));
    // One source in ten changes every half hour; the rest do not change during the run.
    const simSources = scenario.groups.flatMap((g) =>
      Array.from({ length: g.count }, (_, i) => ({
        id: `${g.key}-${i}`,
        key: g.key,
        changeEvery: i % 10 === 0 ? 1800 : null,
      })),
    );
    const result = simulatePolls({
      sources: simSources,
      perHour: (k) => perHour.get(k)!,
      settings,
      hours: SCHEDULE_HOURS,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `[bench] schedule, ${scenario.name}, ${SCHEDULE_HOURS} h on a fake clock (${seconds} s): longest wait ${result.maxGapRatio.toFixed(4)}× the interval; most polls of one budget in one tick ${result.maxPerTick}; never polled ${result.neverPolled}; median gap changing ${result.medianGap.changing} s, quiet ${result.medianGap.quiet} s; change found ${Math.round(result.meanDetectionSeconds)} s after it on average`,
    );
    notes.push(
      `schedule, ${scenario.name}: longest wait ${result.maxGapRatio.toFixed(4)}× the interval, ${result.maxPerTick} polls at most per budget and tick, ${result.neverPolled} never polled, changes found after ${Math.round(result.meanDetectionSeconds)} s on average`,
    );
    for (const g of scenario.groups) {
      const most = result.maxPerSlidingHour.get(g.key) ?? 0;
      const budget = perHour.get(g.key)!;
      const polls = result.pollsByKey.get(g.key)?.length ?? 0;
      const meanInterval = (g.count * SCHEDULE_HOURS * 3600) / Math.max(1, polls);
      console.log(
        `[bench]   ${g.key} (${g.count} sources): at most ${most} polls in any hour, budget ${budget}; each source polled every ${Math.round(meanInterval)} s on average; longest wait ${(result.maxGapRatioByKey.get(g.key) ?? 0).toFixed(4)}× its interval`,
      );
      metrics.push(
        {
          label: `schedule (${scenario.name}), ${g.key}: most polls in any hour`,
          value: most,
          unit: `of ${budget}`,
          kind: "count",
        },
        {
          label: `schedule (${scenario.name}), ${g.key}: mean poll interval`,
          value: Math.round(meanInterval),
          unit: "s",
          kind: "time",
        },
      );
    }
    metrics.push({
      label: `schedule (${scenario.name}): longest wait over the interval`,
      value: Math.round(result.maxGapRatio * 1000) / 1000,
      unit: "x",
      kind: "ratio",
    });
  }
  return { title: `the poll schedule alone, ${SCHEDULE_HOURS} h on a fake clock`, metrics, notes };
}

async function main() {
  process.env.DATABASE_URL = DB_URL;
  const parts: { metrics: Metric[]; notes: string[]; title: string }[] = [];
  if (RUNS.includes("cpu")) parts.push(await runCpu());
  if (RUNS.includes("io")) parts.push(await runIo());
  if (RUNS.includes("schedule")) parts.push(await runSchedule());
  writeResults({
    bench: "scale-out",
    title: parts.map((p) => p.title).join("; "),
    metrics: parts.flatMap((p) => p.metrics),
    notes: parts.flatMap((p) => p.notes),
  });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
