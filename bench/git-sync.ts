import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { GitRepo } from "../test/fakes/git-repo";
import { startGitHubFake } from "../test/fakes/github-fake";

// npm run bench:git — a generated repository of BENCH_GIT_FILES (default 10,000) files behind
// the GitHub fake. Full sync by the archive route and by the tree-plus-file route
// (concurrency 10), beside `git clone --depth 1` over file:// (the floor); then the latency
// from webhook received to change delivered over BENCH_PUSHES (default 100) pushes.
// Uses BENCH_DATABASE_URL (default: this worktree's dc_githosts database), whose schema it resets.
const FILES = Number(process.env.BENCH_GIT_FILES ?? 10_000);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 100);
const DB_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/dc_githosts";
const TOKEN = "ghp_bench";
const EXTS = ["ts", "py", "go", "rs", "java", "md", "json", "js", "css", "sql"];

function generate(repo: GitRepo): number {
  const files: Record<string, string> = {};
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const lines = 5 + (i % 60);
    const content = Array.from(
      { length: lines },
      (_, l) => `line ${l} of file ${i}: ${"abcdefgh".repeat(1 + (l % 3))}`,
    ).join("\n");
    files[`pkg${i % 97}/mod${i % 13}/f${i}.${EXTS[i % EXTS.length]}`] = content;
    bytes += content.length;
  }
  repo.commit(files, {}, "generated");
  return bytes;
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

async function startWorkerProcess(extraEnv: Record<string, string>): Promise<ChildProcess> {
  const worker = spawn(process.execPath, ["--import", "tsx", "worker/index.ts"], {
    env: { ...process.env, WORKER_WATCH: "false", ...extraEnv },
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.once("exit", () => worker.kill("SIGKILL"));
  await new Promise<void>((resolve) =>
    worker.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()),
  );
  return worker;
}

const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function stopWorker(worker: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.kill("SIGTERM");
  await exited;
}

async function main() {
  process.env.DATABASE_URL = DB_URL;
  process.env.ENCRYPTION_KEYS ??= `bench:${randomBytes(32).toString("base64")}`;
  delete process.env.APP_URL;
  const repo = new GitRepo();
  const bytes = generate(repo);
  const fake = await startGitHubFake({ owner: "bench", name: "repo", token: TOKEN, repo });
  process.env.GITHUB_API_URL = fake.base;
  console.log(`${FILES} files, ${(bytes / 1e6).toFixed(1)} MB, one commit`);

  const { getDb, closeDb } = await import("@/lib/db/client");
  const { stopBoss } = await import("@/lib/queue/boss");
  const { createSource } = await import("@/lib/sources/create-source");
  const { changes, sources, syncJobs } = await import("@/lib/db/schema");
  const { and, eq } = await import("drizzle-orm");
  const actor = { userId: null, role: "admin" as const, via: "token" as const };

  async function waitJob(jobId: string) {
    for (;;) {
      const [job] = await getDb().select().from(syncJobs).where(eq(syncJobs.id, jobId));
      if (job && ["completed", "failed"].includes(job.status)) return job;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const results: string[] = [];
  let sourceId = "";
  for (const [label, env] of [
    ["per-file", { SYNC_GIT_ARCHIVE: "off", SYNC_CONCURRENCY: "10" }],
    ["archive", {}],
  ] as const) {
    await resetDatabase();
    const worker = await startWorkerProcess(env);
    const from = fake.requests.length;
    const start = performance.now();
    const { jobId, source } = await createSource(actor, {
      type: "github",
      name: "bench/repo",
      config: { token: TOKEN },
    });
    const job = await waitJob(jobId);
    const ms = performance.now() - start;
    const requests = fake.requests.length - from;
    results.push(
      `${label.padEnd(9)} ${job.status}  ${(ms / 1000).toFixed(2)} s  ${requests} requests (1 of them validating the connection)  worker peak RSS ${peakRssMb(worker.pid!).toFixed(0)} MB  (indexed ${job.filesProcessed})`,
    );
    sourceId = source.id;
    if (label === "archive") {
      // Keep this worker for the incremental run.
      const latencies: number[] = [];
      const { POST } = await import("@/app/api/webhooks/github/route");
      const { sealWebhookSecret } = await import("@/lib/oauth/provider-token");
      const secret = "bench-secret";
      await getDb()
        .update(sources)
        .set({ webhookId: "1", webhookSecret: sealWebhookSecret(sourceId, secret) })
        .where(eq(sources.id, sourceId));
      for (let i = 0; i < PUSHES; i++) {
        const before = repo.head();
        const file = `pkg${i % 97}/mod${i % 13}/f${i}.${EXTS[i % EXTS.length]}`;
        const after = repo.commit({ [file]: `changed by push ${i}\n` });
        const body = JSON.stringify({
          ref: "refs/heads/main",
          before,
          after,
          commits: [],
          repository: { full_name: "bench/repo" },
        });
        const received = performance.now();
        const response = await POST(
          new Request("http://localhost/api/webhooks/github", {
            method: "POST",
            body,
            headers: {
              "content-type": "application/json",
              "x-github-event": "push",
              "x-github-delivery": randomUUID(),
              "x-github-hook-id": "1",
              "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
            },
          }),
        );
        if (response.status !== 202) throw new Error(`webhook answered ${response.status}`);
        for (;;) {
          const rows = await getDb()
            .select({ seq: changes.seq })
            .from(changes)
            .where(
              and(
                eq(changes.sourceId, sourceId),
                eq(changes.path, file),
                eq(changes.op, "upsert"),
                eq(changes.status, "delivered"),
              ),
            )
            .limit(2);
          if (rows.length >= (i < FILES ? 2 : 1)) break;
          await new Promise((r) => setTimeout(r, 5));
        }
        latencies.push(performance.now() - received);
      }
      latencies.sort((a, b) => a - b);
      const pct = (p: number) =>
        latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
      results.push(
        `incremental webhook→delivered over ${PUSHES} pushes: p50 ${pct(50).toFixed(0)} ms  p99 ${pct(99).toFixed(0)} ms`,
      );
    }
    await stopWorker(worker);
  }

  const cloneDir = path.join(os.tmpdir(), `dc-bench-clone-${process.pid}`);
  const cloneStart = performance.now();
  execFileSync("git", ["clone", "-q", "--depth", "1", `file://${repo.dir}`, cloneDir]);
  const cloneMs = performance.now() - cloneStart;
  rmSync(cloneDir, { recursive: true, force: true });
  results.splice(2, 0, `git clone --depth 1 file:// (floor): ${(cloneMs / 1000).toFixed(2)} s`);
  for (const line of results) console.log(line);

  await stopBoss();
  await closeDb();
  await fake.close();
  rmSync(repo.dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
