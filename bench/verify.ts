import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq, gt } from "drizzle-orm";

// npm run bench:verify — the verify job's cost on a 10,000-file source (BENCH_FILES) of each
// type, against the loopback fakes through the real SDKs: after a full sync, one verify of an
// exact index (seconds and provider requests, by route), then one with 3 planted differences.
// The full syncs run in an in-process worker; each verify runs through its job handler.
// Needs DATABASE_URL (a PostgreSQL you may write to).
const FILES = Number(process.env.BENCH_FILES ?? 10_000);
const FOLDERS = 50;
const body = (i: number) => `// file ${i}\n${"export const value = 1;\n".repeat(20 + (i % 40))}`;
const rel = (i: number) => `f${String(i % FOLDERS).padStart(2, "0")}/file${i}.ts`;

const byRoute = (routes: string[]) => {
  const counts = new Map<string, number>();
  for (const raw of routes) {
    const r = raw
      .replace(/[0-9a-f]{40}/g, "<sha>")
      .replace(/^GET files\/[^/\s]+$/, "GET files/{id}")
      .replace(/\?.*$/, "");
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ×${n}`)
    .join(", ");
};

async function main() {
  if (!process.env.DATABASE_URL) throw new Error("Set DATABASE_URL to a PostgreSQL the benchmark may write to.");
  process.env.ENCRYPTION_KEYS ??= `bench:${Buffer.alloc(32, 3).toString("base64")}`;
  delete process.env.APP_URL;
  process.env.POLL_SOURCES_CRON = "0 0 1 1 *";
  const { runMigrations } = await import("@/lib/db/migrate");
  await runMigrations(process.env.DATABASE_URL);

  const tree: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) tree[rel(i)] = body(i);
  const roots = mkdtempSync(path.join(os.tmpdir(), "bench-verify-"));
  process.env.LOCAL_SOURCE_ROOTS = roots;
  const localFolder = path.join(roots, "src");
  for (const [p, content] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(localFolder, p)), { recursive: true });
    writeFileSync(path.join(localFolder, p), content);
  }
  const { GitRepo } = await import("@/test/fakes/git-repo");
  const repo = new GitRepo();
  repo.commit(tree, {}, "bench");
  const { startGitHubFake } = await import("@/test/fakes/github-fake");
  const { startGitLabFake } = await import("@/test/fakes/gitlab-fake");
  const { startBitbucketFake } = await import("@/test/fakes/bitbucket-fake");
  const { startDriveFake } = await import("@/test/fakes/drive-server");
  const { startDropboxFake } = await import("@/test/fakes/dropbox-server");
  const github = await startGitHubFake({ owner: "bench", name: "repo", token: "ghp_bench", repo });
  const gitlab = await startGitLabFake({ project: "bench/repo", token: "glpat-bench", repo });
  const bitbucket = await startBitbucketFake({ fullName: "bench/repo", token: "bb-bench", repo, pagelen: 100 });
  const drive = await startDriveFake();
  const dropbox = await startDropboxFake();
  Object.assign(process.env, drive.env, dropbox.env, {
    GITHUB_API_URL: github.base,
    BITBUCKET_API_URL: `${bitbucket.base}/2.0`,
    BITBUCKET_URL: bitbucket.base,
    ALLOWED_PRIVATE_HOSTS: new URL(gitlab.base).host,
  });
  const driveRoot = drive.folder("Bench");
  const driveFolders = Array.from({ length: FOLDERS }, (_, i) =>
    drive.folder(`f${String(i).padStart(2, "0")}`, driveRoot),
  );
  for (let i = 0; i < FILES; i++) drive.file(`file${i}.ts`, driveFolders[i % FOLDERS]!, body(i));
  for (let i = 0; i < FILES; i++) dropbox.put(`/Bench/${rel(i)}`, body(i));

  const { getDb, closeDb } = await import("@/lib/db/client");
  const { files, syncJobs } = await import("@/lib/db/schema");
  const { createSource } = await import("@/lib/sources/create-source");
  const { deleteSource } = await import("@/lib/sources/delete-source");
  const { startWorker } = await import("@/lib/queue/start-worker");
  const { stopBoss } = await import("@/lib/queue/boss");
  const { handleVerifySource } = await import("@/lib/verify/verify-source");
  const db = getDb();
  const actor = { userId: null, role: "admin" as const, via: "token" as const };
  const worker = await startWorker({ watch: false });

  async function waitJob(sourceId: string, since: Date) {
    for (;;) {
      const [job] = await db
        .select()
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, sourceId), gt(syncJobs.createdAt, since)));
      if (job && ["completed", "failed"].includes(job.status)) return job;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One verify through its job handler: seconds, requests and what it found. */
  async function verifyOnce(sourceId: string, requests: () => string[]) {
    const [job] = await db.insert(syncJobs).values({ sourceId, type: "verify", trigger: "api" }).returning();
    const before = requests().length;
    const start = performance.now();
    await handleVerifySource(job!.id, { retryCount: 0, retryLimit: 0 });
    const seconds = (performance.now() - start) / 1000;
    const [done] = await db.select().from(syncJobs).where(eq(syncJobs.id, job!.id));
    if (done!.status !== "completed") throw new Error(`verify failed: ${done!.errorMessage}`);
    const routes = requests().slice(before);
    const r = done!.result!;
    return { seconds, routes, found: `${r.missing}/${r.extra}/${r.differing}` };
  }

  type Case = { type: string; name: string; config: Record<string, unknown>; requests: () => string[] };
  const log = (fake: { requests: { method: string; path: string }[] }) => () =>
    fake.requests.map((r) => `${r.method} ${r.path}`);
  const cases: Case[] = [
    { type: "local", name: "bench-local", config: { path: localFolder }, requests: () => [] },
    { type: "github", name: "bench/repo", config: { token: "ghp_bench" }, requests: log(github) },
    { type: "gitlab", name: "bench/repo", config: { token: "glpat-bench", host: gitlab.base }, requests: log(gitlab) },
    { type: "bitbucket", name: "bench/repo", config: { token: "bb-bench" }, requests: log(bitbucket) },
    {
      type: "gdrive",
      name: "bench-drive",
      config: { token: drive.token, folderId: driveRoot },
      requests: () => drive.requests.map((r) => `${r.method} ${r.route}`),
    },
    {
      type: "dropbox",
      name: "bench-dropbox",
      config: { token: dropbox.token, path: "/Bench" },
      requests: () => dropbox.requests.map((r) => r.route),
    },
  ];
  const only = process.env.BENCH_TYPES?.split(",");
  const results: string[] = [];
  for (const c of cases) {
    if (only && !only.includes(c.type)) continue;
    const since = new Date(Date.now() - 1000);
    const created = await createSource(actor, { type: c.type, name: c.name, config: c.config });
    const sourceId = created.source.id;
    const full = await waitJob(sourceId, since);
    if (full.status !== "completed") throw new Error(`${c.type} full sync failed: ${full.errorMessage}`);
    const exact = await verifyOnce(sourceId, c.requests);
    // Planted: one row claims another version, one is deleted, one is invented.
    await db
      .update(files)
      .set({ sha: "0".repeat(64), providerVersion: "planted" })
      .where(and(eq(files.sourceId, sourceId), eq(files.path, rel(1))));
    await db.delete(files).where(and(eq(files.sourceId, sourceId), eq(files.path, rel(2))));
    await db.insert(files).values({ sourceId, path: "planted/ghost.ts", sha: "1".repeat(64), size: 1 });
    const drift = await verifyOnce(sourceId, c.requests);
    results.push(
      `| ${c.type} | ${full.filesTotal} | ${exact.seconds.toFixed(2)} s | ${exact.routes.length} | ${byRoute(exact.routes) || "none (filesystem)"} | ${drift.found} in ${drift.seconds.toFixed(2)} s, ${drift.routes.length} requests |`,
    );
    // The repair the second verify queued runs before the source is removed.
    for (;;) {
      const [repair] = await db
        .select()
        .from(syncJobs)
        .where(and(eq(syncJobs.sourceId, sourceId), eq(syncJobs.trigger, "verify")));
      if (!repair || ["completed", "failed"].includes(repair.status)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await deleteSource(actor, sourceId);
  }
  await worker.stop({ timeout: 5000 });
  await stopBoss();
  await closeDb();
  await Promise.all([github.close(), gitlab.close(), bitbucket.close(), drive.close(), dropbox.close()]);
  console.log(`\nbench:verify (${FILES} files per source, ${FOLDERS} folders)`);
  console.log("| type | files | exact verify | requests | by route | planted drift (missing/extra/differing) |");
  console.log("|---|---|---|---|---|---|");
  for (const line of results) console.log(line);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
