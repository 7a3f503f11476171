import { readFile } from "node:fs/promises";
import { eq, gt, and } from "drizzle-orm";

// npm run bench:drive-dropbox — 5,000 files (BENCH_FILES) per provider through the loopback
// fakes of Drive v3 and Dropbox v2, driven through the real SDKs and a worker:
// the full sync's wall time and requests, then ROUNDS rounds of 10 changes each announced by
// a push notification: the incremental sync's requests and the latency from notification to
// delivery of each change (p50, p95), and the worker's peak RSS during the full sync: of this
// process, or with BENCH_WORKER_PROCESS=1 of a worker process as `npm run worker` starts it
// (the fakes and the webhook routes stay here). BENCH_PROVIDERS=dropbox runs one provider.
// Needs DATABASE_URL (a PostgreSQL you may write to).
const FILES = Number(process.env.BENCH_FILES ?? 5000);
const WORKER_PROCESS = process.env.BENCH_WORKER_PROCESS === "1";
const PROVIDERS = (process.env.BENCH_PROVIDERS ?? "gdrive,dropbox").split(",") as ("gdrive" | "dropbox")[];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const FOLDERS = 50;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
/** Requests per route; Drive's per-file routes are folded into files/{id}. */
const byRoute = (routes: string[], perFileIds: boolean) => {
  const counts = new Map<string, number>();
  for (const raw of routes) {
    const r = perFileIds ? raw.replace(/^files\/[^/]+/, "files/{id}") : raw;
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${n}`)
    .join(", ");
};
const body = (i: number, round = 0) =>
  `// file ${i} round ${round}\n${"export const value = 1;\n".repeat(20 + (i % 40))}`;

async function main() {
  if (!process.env.DATABASE_URL) throw new Error("Set DATABASE_URL to a PostgreSQL the benchmark may write to.");
  process.env.ENCRYPTION_KEYS ??= `bench:${Buffer.alloc(32, 3).toString("base64")}`;
  process.env.APP_URL = "https://bench.example.com";
  process.env.DROPBOX_APP_SECRET = "bench-secret";
  const { runMigrations } = await import("@/lib/db/migrate");
  await runMigrations(process.env.DATABASE_URL);
  const { startDriveFake } = await import("@/test/fakes/drive-server");
  const { startDropboxFake } = await import("@/test/fakes/dropbox-server");
  const drive = await startDriveFake();
  const dropbox = await startDropboxFake();
  Object.assign(process.env, drive.env, dropbox.env);

  const { getDb, closeDb } = await import("@/lib/db/client");
  const { changes, driveChannels, syncJobs } = await import("@/lib/db/schema");
  const { createSource } = await import("@/lib/sources/create-source");
  const { deleteSource } = await import("@/lib/sources/delete-source");
  const { startWorker } = await import("@/lib/queue/start-worker");
  const { stopBoss } = await import("@/lib/queue/boss");
  const gdriveRoute = await import("@/app/api/webhooks/gdrive/route");
  const dropboxRoute = await import("@/app/api/webhooks/dropbox/route");
  const { dropboxSignature } = await import("@/lib/webhooks/dropbox-notification");
  const db = getDb();
  const actor = { userId: null, role: "admin" as const, via: "token" as const };
  const { startWorkerProcess, stopProcess } = await import("@/test/fakes/worker-process");
  const worker = WORKER_PROCESS ? null : await startWorker({ watch: false });
  const child = WORKER_PROCESS ? await startWorkerProcess() : null;
  /** The worker's resident memory now: this process's, or the child's from /proc. */
  const workerRss = async () => {
    if (!child) return process.memoryUsage().rss;
    const status = await readFile(`/proc/${child.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  };

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

  // Drive: Bench/f00..f49/, 100 files each.
  const benchRoot = drive.folder("Bench");
  const driveFolders = Array.from({ length: FOLDERS }, (_, i) =>
    drive.folder(`f${String(i).padStart(2, "0")}`, benchRoot),
  );
  const driveIds = PROVIDERS.includes("gdrive")
    ? Array.from({ length: FILES }, (_, i) => drive.file(`file${i}.ts`, driveFolders[i % FOLDERS]!, body(i)))
    : [];
  for (let i = 0; i < FILES; i++) dropbox.put(`/Bench/f${String(i % FOLDERS).padStart(2, "0")}/file${i}.ts`, body(i));

  const results: string[] = [];
  for (const provider of PROVIDERS) {
    const fake = provider === "gdrive" ? drive : dropbox;
    const config =
      provider === "gdrive" ? { token: drive.token, folderId: benchRoot } : { token: dropbox.token, path: "/Bench" };
    const routes = () => fake.requests.map((r) => r.route);
    const startRequests = fake.requests.length;
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    const rssBefore = await workerRss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => void workerRss().then((rss) => (rssPeak = Math.max(rssPeak, rss))), 20);
    const start = performance.now();
    const created = await createSource(actor, { type: provider, name: `bench-${provider}`, config });
    const sourceId = created.source.id;
    const full = await waitJob(sourceId, new Date(0));
    const fullMs = performance.now() - start;
    clearInterval(sampler);
    if (full.status !== "completed") throw new Error(`${provider} full sync failed: ${full.errorMessage}`);
    const fullRoutes = routes().slice(startRequests);
    results.push(
      `${provider}: full sync of ${full.filesTotal} files: ${(fullMs / 1000).toFixed(2)} s, ${fullRoutes.length} requests (${byRoute(fullRoutes, provider === "gdrive")}); ${child ? "worker process" : "this process"}'s peak RSS ${mb(rssPeak)} MB (${mb(rssBefore)} MB before)`,
    );

    const latencies: number[] = [];
    const incrementalRequests: number[] = [];
    let lastRoutes: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // 10 changes: 7 edits, 1 add, 1 rename, 1 delete.
      const base = round * 10;
      if (provider === "gdrive") {
        for (let k = 0; k < 7; k++) drive.edit(driveIds[base + k]!, body(base + k, round));
        drive.file(`added-${round}.ts`, driveFolders[0]!, body(round, round));
        drive.rename(driveIds[base + 7]!, `renamed-${round}.ts`);
        drive.deleteForever(driveIds[base + 8]!);
      } else {
        const p = (i: number) => `/Bench/f${String(i % FOLDERS).padStart(2, "0")}/file${i}.ts`;
        for (let k = 0; k < 7; k++) dropbox.put(p(base + k), body(base + k, round));
        dropbox.put(`/Bench/f00/added-${round}.ts`, body(round, round));
        dropbox.move(p(base + 7), `/Bench/f00/renamed-${round}.ts`);
        dropbox.remove(p(base + 8));
      }
      const before = fake.requests.length;
      const since = new Date();
      const notifiedAt = Date.now();
      if (provider === "gdrive") {
        const [row] = await db.select().from(driveChannels).where(eq(driveChannels.sourceId, sourceId));
        const channel = drive.channels.find((c) => c.id === row!.channelId)!;
        const res = await gdriveRoute.POST(
          new Request("http://localhost/api/webhooks/gdrive", { method: "POST", headers: drive.notification(channel) }),
        );
        if (res.status !== 200) throw new Error(`drive notification: ${res.status}`);
      } else {
        const raw = JSON.stringify({ list_folder: { accounts: [dropbox.accountId] } });
        const res = await dropboxRoute.POST(
          new Request("http://localhost/api/webhooks/dropbox", {
            method: "POST",
            headers: { "x-dropbox-signature": dropboxSignature(raw, "bench-secret") },
            body: raw,
          }),
        );
        if (res.status !== 200) throw new Error(`dropbox notification: ${res.status}`);
      }
      const job = await waitJob(sourceId, since);
      if (job.status !== "completed") throw new Error(`${provider} incremental failed: ${job.errorMessage}`);
      const delivered = await db
        .select()
        .from(changes)
        .where(and(eq(changes.sourceId, sourceId), eq(changes.jobId, job.id), eq(changes.status, "delivered")));
      for (const d of delivered) latencies.push(d.deliveredAt!.getTime() - notifiedAt);
      lastRoutes = routes().slice(before);
      incrementalRequests.push(lastRoutes.length);
    }
    results.push(
      `${provider}: incremental after 10 changes (${ROUNDS} rounds): ${incrementalRequests.join("/")} requests (last: ${byRoute(lastRoutes, provider === "gdrive")}); ` +
        `notification → delivery p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms over ${latencies.length} deliveries`,
    );
    await deleteSource(actor, sourceId);
  }
  await worker?.stop({ timeout: 5000 });
  if (child) await stopProcess(child);
  await stopBoss();
  await closeDb();
  await drive.close();
  await dropbox.close();
  console.log(
    `\nbench:drive-dropbox (${FILES} files per provider, ${FOLDERS} folders, embedded pipeline, ${child ? "worker process" : "in-process worker"})`,
  );
  for (const line of results) console.log(`  ${line}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
