import { closeDb } from "@/lib/db/client";
import { runMigrations } from "@/lib/db/migrate";
import { resolveDatabase } from "@/lib/db/resolve-database";
import { startWorker } from "@/lib/queue/start-worker";
import { errorField, logger } from "@/lib/log";

// The standalone worker process. Run more of these against one PostgreSQL to scale out.
async function main(): Promise<void> {
  // Under `npm start` DATABASE_URL is always set; alone, find or start the embedded database.
  const { url, embedded } = await resolveDatabase();
  process.env.DATABASE_URL = url;
  await runMigrations(url);
  const worker = await startWorker({ watch: process.env.WORKER_WATCH !== "false" });
  logger.info({ pid: process.pid }, "worker ready");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "worker stopping: finishing running jobs first");
    await worker.stop({ timeout: Number(process.env.WORKER_SHUTDOWN_TIMEOUT_MS ?? 30_000) });
    await closeDb();
    await embedded?.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

// A crash says why on the way out (npm start, restarting the worker, logs the exit code).
process.on("uncaughtException", (err) => {
  logger.fatal({ error: errorField(err), stack: err.stack }, "worker crashed: uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (reason) => {
  logger.fatal(
    { error: errorField(reason), stack: (reason as Error | undefined)?.stack },
    "worker crashed: unhandled rejection",
  );
  process.exit(1);
});

main().catch((err) => {
  logger.fatal({ error: errorField(err) }, "worker failed to start");
  process.exit(1);
});
