import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import fs from "node:fs/promises";
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

async function syncOnce(label: string, url: string, roots: string, folder: string, bytes: number, floorMs: number) {
  const { runMigrations } = await import("@/lib/db/migrate");
  await runMigrations(url);
  const env = { ...process.env, DATABASE_URL: url, LOCAL_SOURCE_ROOTS: roots, WORKER_WATCH: "false" };
  const worker = spawn(process.execPath, WORKER_NODE_ARGS, { env, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) =>
    worker.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()),
  );
  process.env.DATABASE_URL = url;
  process.env.LOCAL_SOURCE_ROOTS = roots;
  const { getDb, closeDb } = await import("@/lib/db/client");
  const { stopBoss } = await import("@/lib/queue/boss");
  const { createSource } = await import("@/lib/sources/create-source");
  const { syncJobs } = await import("@/lib/db/schema");
  const { eq } = await import("drizzle-orm");
  // The worker must not outlive a failed run.
  process.once("exit", () => worker.kill("SIGKILL"));
  const start = performance.now();
  const { jobId } = await createSource(
    getDb(),
    { userId: null, role: "admin", via: "token" },
    { type: "local", name: label, config: { path: folder } },
  );
  let job;
  for (;;) {
    [job] = await getDb().select().from(syncJobs).where(eq(syncJobs.id, jobId));
    if (job && ["completed", "failed"].includes(job.status)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ms = performance.now() - start;
  const status = readFileSync(`/proc/${worker.pid}/status`, "utf8");
  const peakMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  worker.kill("SIGTERM");
  await stopBoss();
  await closeDb();
  console.log(
    `${label.padEnd(10)} ${job!.status}  ${(ms / 1000).toFixed(1)} s  ${(FILES / (ms / 1000)).toFixed(0)} files/s  ` +
      `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s  ${(ms / floorMs).toFixed(1)}x floor  worker peak RSS ${peakMb.toFixed(0)} MB  ` +
      `(indexed ${job!.filesProcessed}, skipped ${job!.filesSkipped}, failed ${job!.filesFailed})`,
  );
}

async function main() {
  const roots = mkdtempSync(path.join(os.tmpdir(), "dc-bench-"));
  const folder = path.join(roots, "tree");
  const { bytes } = generate(folder);
  const floors = [await floor(folder), await floor(folder), await floor(folder)].sort((a, b) => a - b);
  const floorMs = floors[1]!;
  console.log(`${FILES} files, ${(bytes / 1e6).toFixed(0)} MB`);
  console.log(
    `floor      walk+read+sha256 median of 3: ${(floorMs / 1000).toFixed(2)} s  ${(FILES / (floorMs / 1000)).toFixed(0)} files/s  ${(bytes / 1e6 / (floorMs / 1000)).toFixed(1)} MB/s`,
  );

  if (TARGETS.includes("embedded")) {
    const { startEmbeddedPostgres } = await import("@/lib/db/embedded");
    const embedded = await startEmbeddedPostgres(null);
    await syncOnce("embedded", embedded.url, roots, folder, bytes, floorMs);
    await embedded.stop();
  }

  const admin = new pg.Client({ connectionString: REAL_PG });
  const reachable =
    TARGETS.includes("postgres") &&
    (await admin.connect().then(
      () => true,
      () => false,
    ));
  if (reachable) {
    await admin.query("drop database if exists dc_bench with (force)");
    await admin.query("create database dc_bench");
    await admin.end();
    const url = new URL(REAL_PG);
    url.pathname = "/dc_bench";
    await syncOnce("postgres", url.toString(), roots, folder, bytes, floorMs);
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
