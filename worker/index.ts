import { closeDb } from "@/lib/db/client";
import { runMigrations } from "@/lib/db/migrate";
import { resolveDatabase } from "@/lib/db/resolve-database";
import { getBoss, stopBoss } from "@/lib/queue/boss";
import { parsePayload } from "@/lib/queue/define-job";
import { JOBS } from "@/lib/queue/jobs";
import { QUEUES } from "@/lib/queue/names";
import { LocalWatcher } from "@/lib/sync/local-watcher";

// The standalone worker: wires the jobs to pg-boss and starts the local-folder watcher.
// Run more of these against the same PostgreSQL to scale out.
async function main(): Promise<void> {
  // Under `npm start` DATABASE_URL is always set; alone, find or start the embedded database.
  const { url, embedded } = await resolveDatabase();
  process.env.DATABASE_URL = url;
  await runMigrations(url);
  const boss = await getBoss({ worker: true });
  for (const job of JOBS) {
    await boss.work(job.name, { includeMetadata: true, localConcurrency: job.concurrency ?? 1, pollingIntervalSeconds: 0.5 }, async ([raw]) => {
      if (!raw) return;
      const data = parsePayload(job, raw);
      if (data !== null) await job.handle(data as never, raw);
    });
  }
  await boss.schedule(QUEUES.sweepSyncs, "* * * * *");
  const watcher = new LocalWatcher();
  await watcher.start();
  console.log(`[worker] ready (pid ${process.pid})`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[worker] ${signal}: finishing running jobs, then stopping`);
    watcher.stop();
    await stopBoss({ graceful: true, timeout: Number(process.env.WORKER_SHUTDOWN_TIMEOUT_MS ?? 30_000) });
    await closeDb();
    await embedded?.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  console.error("[worker] failed to start:", err);
  process.exit(1);
});
