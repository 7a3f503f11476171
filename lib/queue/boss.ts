import { PgBoss } from "pg-boss";
import { databaseUrl } from "@/lib/db/client";
import { QUEUES } from "./names";
import { errorField, logger } from "@/lib/log";

/** How often a worker looks for jobs whose heartbeat stopped (see getBoss). */
export const MONITOR_INTERVAL_SECONDS = 10;

type BossHandle = { boss: PgBoss; ready: Promise<PgBoss> };
const globalForBoss = globalThis as unknown as { dataConnectorBoss?: BossHandle };

/**
 * Queue settings. sync-source is `stately` per source (singletonKey = source id): at most one
 * running and one waiting, so a source is never synced by two workers at once and a burst
 * of requests coalesces. Heartbeats let a killed worker's job be retried within seconds.
 */
export const QUEUE_OPTIONS = {
  [QUEUES.syncSource]: {
    policy: "stately",
    retryLimit: 8,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 120,
    heartbeatSeconds: 10,
    expireInSeconds: 6 * 3600,
    // A new job wakes the workers at once (LISTEN/NOTIFY) instead of at their next poll.
    notify: true,
  },
  // Stately per batch (singletonKey = job:batch): one batch is never processed twice at once.
  [QUEUES.processFileBatch]: {
    policy: "stately",
    retryLimit: 5,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 120,
    heartbeatSeconds: 10,
    expireInSeconds: 3600,
    // A new job wakes the workers at once (LISTEN/NOTIFY) instead of at their next poll.
    notify: true,
  },
  [QUEUES.sendToPipeline]: {
    policy: "standard",
    retryLimit: 20,
    retryDelay: 5,
    retryBackoff: true,
    retryDelayMax: 600,
    expireInSeconds: 3600,
  },
  [QUEUES.sweepSyncs]: { policy: "singleton", retryLimit: 0, expireInSeconds: 300 },
  [QUEUES.refreshCredentials]: { policy: "singleton", retryLimit: 0, expireInSeconds: 600 },
  [QUEUES.reencryptCredentials]: { policy: "singleton", retryLimit: 3, retryDelay: 30, expireInSeconds: 3600 },
  [QUEUES.pollSources]: { policy: "singleton", retryLimit: 0, expireInSeconds: 600 },
  [QUEUES.renewDriveChannels]: { policy: "singleton", retryLimit: 2, retryDelay: 60, expireInSeconds: 900 },
  [QUEUES.pruneWebhookEvents]: { policy: "singleton", retryLimit: 1, retryDelay: 300, expireInSeconds: 1800 },
  // Retried while a sync of the source runs (a verify compares a settled index only).
  [QUEUES.verifySource]: {
    policy: "standard",
    retryLimit: 30,
    retryDelay: 5,
    retryBackoff: true,
    retryDelayMax: 300,
    heartbeatSeconds: 10,
    expireInSeconds: 3600,
  },
  [QUEUES.scheduleVerifies]: { policy: "singleton", retryLimit: 0, expireInSeconds: 600 },
  [QUEUES.pruneChanges]: { policy: "singleton", retryLimit: 1, retryDelay: 300, expireInSeconds: 1800 },
} as const;

async function startBoss(boss: PgBoss): Promise<PgBoss> {
  await boss.start();
  // createQueue is idempotent; both processes make sure the queues exist before using them.
  for (const [name, options] of Object.entries(QUEUE_OPTIONS)) {
    await boss.createQueue(name, options);
    // A queue created before it was notify-enabled becomes so.
    if ("notify" in options) await boss.updateQueue(name, { notify: options.notify });
  }
  return boss;
}

/**
 * One PgBoss per process. The web process only sends (no maintenance, no schedules); the
 * worker creates the queues and runs maintenance.
 */
export function getBoss(options: { worker?: boolean } = {}): Promise<PgBoss> {
  if (!globalForBoss.dataConnectorBoss) {
    const worker = options.worker ?? false;
    const boss = new PgBoss({
      connectionString: databaseUrl(),
      max: worker ? 6 : 3,
      application_name: worker ? "data-connector-worker" : "data-connector-web",
      supervise: worker,
      superviseIntervalSeconds: 5,
      // pg-boss fails jobs whose heartbeat went stale (a killed worker's, or one whose failure
      // could not be recorded while PostgreSQL restarted) only on its per-queue monitor pass,
      // every 60 s by default: a crashed sync then waited over a minute. Every 10 s instead.
      monitorIntervalSeconds: MONITOR_INTERVAL_SECONDS,
      schedule: worker,
      // The worker listens for new jobs on notify-enabled queues; polling stays the floor.
      useListenNotify: worker,
      migrate: true,
    });
    boss.on("error", (err) => logger.error({ error: errorField(err) }, "queue error"));
    const ready = startBoss(boss).catch((err) => {
      // Let the next caller try again (the database may be back).
      globalForBoss.dataConnectorBoss = undefined;
      throw err;
    });
    globalForBoss.dataConnectorBoss = { boss, ready };
  }
  return globalForBoss.dataConnectorBoss.ready;
}

export async function stopBoss(options: { graceful?: boolean; timeout?: number } = {}): Promise<void> {
  const handle = globalForBoss.dataConnectorBoss;
  globalForBoss.dataConnectorBoss = undefined;
  if (!handle) return;
  const boss = await handle.ready.catch(() => null);
  await boss?.stop({ graceful: options.graceful ?? true, timeout: options.timeout ?? 30_000, close: true });
}
