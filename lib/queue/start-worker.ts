import { getBoss, stopBoss } from "./boss";
import type { z } from "zod";
import type { JobDefinition } from "./define-job";
import { runJob } from "./run-job";
import { JOBS } from "./jobs";
import { QUEUES } from "./names";
import { LocalWatcher } from "./local-watcher";
import { startWorkerHeartbeat } from "@/lib/workers/heartbeat";
import { batchLimits, fanOutThreshold } from "@/lib/sync/batch-limits";

export type RunningWorker = { stop(options?: { timeout?: number }): Promise<void> };

/**
 * Registers every job with pg-boss (payloads parsed by zod), the schedules and the local watcher,
 * and records this process in `workers` with a heartbeat (the dashboard warns when none is live).
 */
export async function startWorker(options: { watch?: boolean } = {}): Promise<RunningWorker> {
  // A mistyped batch setting stops the worker here, not each sync later.
  batchLimits();
  fanOutThreshold();
  const boss = await getBoss({ worker: true });
  let jobsRunning = 0;
  for (const job of JOBS as readonly JobDefinition<z.ZodType>[]) {
    await boss.work(
      job.name,
      // Notified queues keep the same poll: a retry's delayed job is woken by no notification.
      {
        includeMetadata: true,
        localConcurrency: job.concurrency ?? 1,
        pollingIntervalSeconds: 0.5,
        notifyPollingIntervalSeconds: 0.5,
      },
      async ([raw]) => {
        if (!raw) return;
        jobsRunning++;
        try {
          await runJob(job, raw);
        } finally {
          jobsRunning--;
        }
      },
    );
  }
  await boss.schedule(QUEUES.sweepSyncs, "* * * * *", {});
  await boss.schedule(QUEUES.refreshCredentials, "*/5 * * * *", {});
  // Rows sealed with a key that is no longer the current one move to it once per start.
  await boss.send(QUEUES.reencryptCredentials, {}, { singletonKey: "start" });
  await boss.schedule(QUEUES.pollSources, process.env.POLL_SOURCES_CRON ?? "* * * * *", {});
  // Drive channels expire; each is replaced well before (see RENEW_BEFORE_MS).
  await boss.schedule(QUEUES.renewDriveChannels, "*/15 * * * *", {});
  await boss.schedule(QUEUES.pruneWebhookEvents, "17 * * * *", {});
  await boss.schedule(QUEUES.scheduleVerifies, "*/10 * * * *", {});
  await boss.schedule(QUEUES.pruneChanges, "41 * * * *", {});
  const watcher = options.watch === false ? null : new LocalWatcher();
  await watcher?.start();
  const heartbeat = await startWorkerHeartbeat(() => jobsRunning);
  return {
    async stop({ timeout = 30_000 } = {}) {
      watcher?.stop();
      // Stops taking work, lets running jobs finish (up to `timeout`), then closes.
      await stopBoss({ graceful: true, timeout });
      await heartbeat.stop();
    },
  };
}
