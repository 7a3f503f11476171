import { closeDb } from "@/lib/db/client";
import { runMigrations } from "@/lib/db/migrate";
import { resolveDatabase } from "@/lib/db/resolve-database";
import { startWorker } from "@/lib/queue/start-worker";

// The standalone worker process. Run more of these against one PostgreSQL to scale out.
async function main(): Promise<void> {
  // Under `npm start` DATABASE_URL is always set; alone, find or start the embedded database.
  const { url, embedded } = await resolveDatabase();
  process.env.DATABASE_URL = url;
  await runMigrations(url);
  const worker = await startWorker({ watch: process.env.WORKER_WATCH !== "false" });
  console.log(`[worker] ready (pid ${process.pid})`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[worker] ${signal}: finishing running jobs, then stopping`);
    await worker.stop({ timeout: Number(process.env.WORKER_SHUTDOWN_TIMEOUT_MS ?? 30_000) });
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
