import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import fs from "node:fs/promises";
import { Session } from "node:inspector/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { WORKER_NODE_ARGS } from "@/lib/queue/worker-command";

// npm run bench:local — full sync of a generated folder (BENCH_FILES, default 20,000 files,
// about 150 MB) on the embedded and on the real PostgreSQL, beside the floor: walk, read and
// hash the same folder in one process. Prints files/s, MB/s and the worker's peak RSS.
const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const REAL_PG = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** Which databases to run on: "embedded,postgres" (default) or either alone. */
const TARGETS = (process.env.BENCH_TARGETS ?? "embedded,postgres").split(",");
/** The scratch database created (and dropped first) on the PostgreSQL server. */
const SCRATCH_DB = process.env.BENCH_SCRATCH_DB ?? "dc_bench";
/** Extra node arguments for the worker (a profile: `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
const WORKER_ARGS = (process.env.BENCH_WORKER_ARGS ?? "").split(" ").filter(Boolean);
/** Watcher edits timed after the syncs (indexed and delivered); 0 skips them. */
const EDITS = Number(process.env.BENCH_EDITS ?? 10);
/** Full syncs per database, each beside a floor measured just before it; the summary is their median. */
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
/** A folder for a CPU profile of this process during the first embedded sync (where PGlite runs). */
const PROFILE_DATABASE = process.env.BENCH_PROFILE_DATABASE;
const EXTS = ["ts", "py", "go", "rs", "java", "md", "json", "js", "css", "sql"];

function generate(root: string): { bytes: number } {
  let bytes = 0;
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < FILES; i++) {
    const dir = path.join(root, `pkg${i % 97}`, `mod${i % 13}`);
    mkdirSync(dir, { recursive: true });
    let content: Buffer;
    let name = `f${i}.${EXTS[i % EXTS.length]}`;
    if (i % 200 === 0) {
      content = Buffer.alloc(3000, 0); // binary
      name = `blob${i}.txt`;
    } else if (i % 400 === 1) {
      content = Buffer.from("x".repeat(1_200_000)); // over the 1 MB cap
    } else {
      const lines = Math.max(3, Math.floor(rand() ** 2 * 400));
      content = Buffer.from(
        Array.from({ length: lines }, (_, l) => `line ${l} of file ${i}: ${"abcdefgh".repeat(1 + (l % 3))}`).join("\n"),
      );
    }
    if (i % 100 === 7) {
      mkdirSync(path.join(root, "node_modules", `dep${i}`), { recursive: true });
      writeFileSync(path.join(root, "node_modules", `dep${i}`, "index.js"), content);
    } else writeFileSync(path.join(dir, name), content);
    bytes += content.length;
  }
  return { bytes };
}

async function floor(root: string): Promise<number> {
  const start = performance.now();
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else
        createHash("sha256")
          .update(await fs.readFile(full))
          .digest("hex");
    }
  }
  return performance.now() - start;
}

function startWorker(url: string, roots: string, watch: boolean): Promise<ChildProcess> {
  const env = { ...process.env, DATABASE_URL: url, LOCAL_SOURCE_ROOTS: roots, WORKER_WATCH: String(watch) };
  const worker = spawn(process.execPath, [...WORKER_ARGS, ...WORKER_NODE_ARGS], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // The worker must not outlive a failed run.
  process.once("exit", () => worker.kill("SIGKILL"));
  return new Promise((resolve) =>
    worker.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve(worker)),
  );
}

function stopWorker(worker: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    worker.once("exit", () => resolve());
    worker.kill("SIGTERM");
  });
}

/** Profiles this process (node:inspector) until stop writes the profile to `file`. */
async function startProfile() {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    stop: async (file: string) => {
      const { profile } = await session.post("Profiler.stop");
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process's fields in /proc/<pid>/stat after its name; null once it is gone. */
function procStat(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used, from /proc; 0 once it is gone. */
function cpuSeconds(pid: number): number {
  const fields = procStat(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : 0;
}

/** Minor page faults a process has taken (first touches of memory it was given), from /proc. */
function pageFaults(pid: number): number {
  return Number(procStat(pid)?.[7] ?? 0);
}

/**
 * CPU seconds used so far by the worker and by the database: the server's backends for the
 * scratch database (listed by pg_stat_activity, read from /proc: a server on this machine), or
 * this process for the embedded one, which runs in it. Under load, wall times swing with other
 * processes; the CPU a sync costs does not.
 */
async function cpuSnapshot(url: string, embedded: boolean, workerPid: number) {
  let database = embedded ? process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 : 0;
  const backends = new Map<number, number>();
  if (!embedded) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    await client.end();
    for (const { pid } of rows) backends.set(pid, cpuSeconds(pid));
    database = [...backends.values()].reduce((a, b) => a + b, 0);
  }
  return { worker: cpuSeconds(workerPid), faults: pageFaults(workerPid), database, backends };
}

/** CPU seconds between two snapshots; a backend that left meanwhile counts what it used before. */
function cpuSpent(before: Awaited<ReturnType<typeof cpuSnapshot>>, after: Awaited<ReturnType<typeof cpuSnapshot>>) {
  let database = after.database - before.database;
  if (after.backends.size > 0 || before.backends.size > 0) {
    database = 0;
    for (const [pid, used] of after.backends) database += used - (before.backends.get(pid) ?? 0);
  }
  return { worker: after.worker - before.worker, faults: after.faults - before.faults, database };
}

async function syncOnce(
  label: string,
  url: string,
  roots: string,
  folder: string,
  bytes: number,
  floorMs: number,
): Promise<number> {
  const { runMigrations } = await import("@/lib/db/migrate");
  await runMigrations(url);
  let worker = await startWorker(url, roots, false);
  process.env.DATABASE_URL = url;
  process.env.LOCAL_SOURCE_ROOTS = roots;
  const { getDb, closeDb } = await import("@/lib/db/client");
  const { stopBoss } = await import("@/lib/queue/boss");
  const { createSource } = await import("@/lib/sources/create-source");
  const { requestSync } = await import("@/lib/queue/request-sync");
  const { changes, syncJobs } = await import("@/lib/db/schema");
  const { and, eq } = await import("drizzle-orm");
  const settled = async (jobId: string) => {
    for (;;) {
      const [job] = await getDb().select().from(syncJobs).where(eq(syncJobs.id, jobId));
      if (job && ["completed", "failed"].includes(job.status)) return job;
      await sleep(20);
    }
  };
  const jobMs = (job: { startedAt: Date | null; completedAt: Date | null }) =>
    job.completedAt!.getTime() - job.startedAt!.getTime();
  const embedded = label === "embedded";
  const profiler = embedded && PROFILE_DATABASE ? await startProfile() : null;
  const cpuBefore = await cpuSnapshot(url, embedded, worker.pid!);
  const start = performance.now();
  const { jobId, source } = await createSource(
    { userId: null, role: "admin", via: "token" },
    { type: "local", name: label, config: { path: folder } },
  );
  const job = await settled(jobId);
  const ms = performance.now() - start;
  const cpu = cpuSpent(cpuBefore, await cpuSnapshot(url, embedded, worker.pid!));
  if (profiler) await profiler.stop(path.join(PROFILE_DATABASE!, `database-${process.pid}.cpuprofile`));
  const status = readFileSync(`/proc/${worker.pid}/status`, "utf8");
  const peakMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  console.log(
    `${label.padEnd(10)} ${job.status}  ${(ms / 1000).toFixed(2)} s  ${(FILES / (ms / 1000)).toFixed(0)} files/s  ` +
      `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s  ${(ms / floorMs).toFixed(1)}x floor  worker peak RSS ${peakMb.toFixed(0)} MB  ` +
      `(indexed ${job.filesProcessed}, skipped ${job.filesSkipped}, failed ${job.filesFailed}); ` +
      `the job itself ${(jobMs(job) / 1000).toFixed(2)} s, ${(jobMs(job) / floorMs).toFixed(1)}x floor; ` +
      `CPU: worker ${cpu.worker.toFixed(2)} s, database ${cpu.database.toFixed(2)} s; worker page faults ${cpu.faults}`,
  );

  const again = performance.now();
  const resync = await settled((await requestSync({ sourceId: source.id, type: "full", trigger: "manual" })).jobId);
  console.log(
    `${label.padEnd(10)} no-change full sync ${resync.status}  ${((performance.now() - again) / 1000).toFixed(2)} s ` +
      `(the job itself ${(jobMs(resync) / 1000).toFixed(2)} s; skipped ${resync.filesSkipped})`,
  );
  await stopWorker(worker);

  if (EDITS > 0) {
    // A worker with the watcher: its start-up reconcile first, then one edit at a time.
    worker = await startWorker(url, roots, true);
    for (;;) {
      const open = await getDb()
        .select({ id: syncJobs.id })
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, source.id), eq(syncJobs.status, "queued")));
      const running = await getDb()
        .select({ id: syncJobs.id })
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, source.id), eq(syncJobs.status, "running")));
      if (open.length === 0 && running.length === 0) break;
      await sleep(50);
    }
    await sleep(500);
    const times: number[] = [];
    for (let i = 0; i < EDITS; i++) {
      // A text file under the cap, outside node_modules (see generate).
      const j = 2 + 10 * i;
      const rel = `pkg${j % 97}/mod${j % 13}/f${j}.${EXTS[j % EXTS.length]}`;
      const file = path.join(folder, rel);
      const content = Buffer.concat([readFileSync(file), Buffer.from(`\nedit ${i}\n`)]);
      const sha = createHash("sha256").update(content).digest("hex");
      const edited = performance.now();
      writeFileSync(file, content);
      for (;;) {
        const [row] = await getDb()
          .select({ seq: changes.seq })
          .from(changes)
          .where(
            and(
              eq(changes.sourceId, source.id),
              eq(changes.path, rel),
              eq(changes.sha, sha),
              eq(changes.status, "delivered"),
            ),
          );
        if (row) break;
        if (performance.now() - edited > 30_000) throw new Error(`the edit of ${rel} was not delivered in 30 s`);
        await sleep(10);
      }
      times.push(performance.now() - edited);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(10)} watcher edit → delivered over ${EDITS} edits: p50 ${times[Math.floor(EDITS / 2)]!.toFixed(0)} ms, ` +
        `max ${times[EDITS - 1]!.toFixed(0)} ms`,
    );
    await stopWorker(worker);
  }
  await stopBoss();
  await closeDb();
  return jobMs(job);
}

/** The floor: walk, read and hash, the median of three runs in a row. */
async function floorOf(folder: string): Promise<{ ms: number; cpuSeconds: number }> {
  const cpuStart = process.cpuUsage();
  const floors = [await floor(folder), await floor(folder), await floor(folder)].sort((a, b) => a - b);
  const cpu = process.cpuUsage(cpuStart);
  return { ms: floors[1]!, cpuSeconds: (cpu.user + cpu.system) / 3e6 };
}

function printFloor({ ms, cpuSeconds }: { ms: number; cpuSeconds: number }, bytes: number) {
  console.log(
    `floor      walk+read+sha256 median of 3: ${(ms / 1000).toFixed(2)} s  ${(FILES / (ms / 1000)).toFixed(0)} files/s  ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s, ` +
      `CPU ${cpuSeconds.toFixed(2)} s each`,
  );
}

/**
 * `RUNS` full syncs on one database, each on a fresh database (`fresh` makes one and returns its
 * URL and how to drop it) and beside its own floor, so that a machine whose speed drifts moves
 * both; prints the median job time and the median of the ratios.
 */
async function runs(
  label: string,
  fresh: () => Promise<{ url: string; drop: () => Promise<void> }>,
  roots: string,
  folder: string,
  bytes: number,
  floorBefore: () => Promise<number>,
) {
  const results: { jobMs: number; floorMs: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const floorMs = await floorBefore();
    const db = await fresh();
    results.push({ jobMs: await syncOnce(label, db.url, roots, folder, bytes, floorMs), floorMs });
    await db.drop();
  }
  if (RUNS === 1) return;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratios = results.map((r) => r.jobMs / r.floorMs);
  console.log(
    `${label.padEnd(10)} median of ${RUNS} runs: the job itself ${(median(results.map((r) => r.jobMs)) / 1000).toFixed(2)} s, ` +
      `floor ${(median(results.map((r) => r.floorMs)) / 1000).toFixed(2)} s, ${median(ratios).toFixed(2)}x floor ` +
      `(each run: ${ratios.map((x) => x.toFixed(2)).join(", ")})`,
  );
}

async function main() {
  const roots = mkdtempSync(path.join(os.tmpdir(), "dc-bench-"));
  const folder = path.join(roots, "tree");
  const { bytes } = generate(folder);
  const first = await floorOf(folder);
  console.log(`${FILES} files, ${(bytes / 1e6).toFixed(0)} MB`);
  printFloor(first, bytes);
  // The first run takes the floor just measured; every later one (on either database) its own.
  let unused: number | null = first.ms;
  const floorBefore = async () => {
    if (unused !== null) {
      const ms = unused;
      unused = null;
      return ms;
    }
    const measured = await floorOf(folder);
    printFloor(measured, bytes);
    return measured.ms;
  };

  if (TARGETS.includes("embedded")) {
    const { startEmbeddedPostgres } = await import("@/lib/db/embedded");
    // Its data in a folder, as `npm start` keeps it (BENCH_EMBEDDED_MEMORY=1: in memory, as the tests do).
    const fresh = async () => {
      const dataDir = process.env.BENCH_EMBEDDED_MEMORY
        ? null
        : mkdtempSync(path.join(os.tmpdir(), "dc-bench-pglite-"));
      const embedded = await startEmbeddedPostgres(dataDir);
      const drop = async () => {
        await embedded.stop();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      };
      return { url: embedded.url, drop };
    };
    await runs("embedded", fresh, roots, folder, bytes, floorBefore);
  }

  const admin = new pg.Client({ connectionString: REAL_PG });
  const reachable =
    TARGETS.includes("postgres") &&
    (await admin.connect().then(
      () => true,
      () => false,
    ));
  if (reachable) {
    const fresh = async () => {
      await admin.query(`drop database if exists ${SCRATCH_DB} with (force)`);
      await admin.query(`create database ${SCRATCH_DB}`);
      const url = new URL(REAL_PG);
      url.pathname = `/${SCRATCH_DB}`;
      return { url: url.toString(), drop: async () => {} };
    };
    await runs("postgres", fresh, roots, folder, bytes, floorBefore);
    await admin.end();
  } else {
    console.log("postgres   skipped (not in BENCH_TARGETS, or no server at BENCH_DATABASE_URL)");
  }
  rmSync(roots, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
