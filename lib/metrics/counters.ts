import { Counter, Registry } from "prom-client";

const FILE_OUTCOMES = ["indexed", "unchanged", "skipped", "failed", "deleted"] as const;
export type FileOutcome = (typeof FILE_OUTCOMES)[number];

function createCounters() {
  const registry = new Registry();
  const counters = {
    registry,
    providerRequests: new Counter({
      name: "dc_provider_requests_total",
      help: "Requests sent to providers, by provider and HTTP status (0: no answer)",
      labelNames: ["provider", "status"] as const,
      registers: [registry],
    }),
    rateLimitWait: new Counter({
      name: "dc_provider_rate_limit_wait_seconds_total",
      help: "Seconds syncs spent waiting out provider rate limits",
      labelNames: ["provider"] as const,
      registers: [registry],
    }),
    files: new Counter({
      name: "dc_files_total",
      help: "Files handled by syncs, by outcome (indexed, unchanged, skipped, failed, deleted)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    deliveries: new Counter({
      name: "dc_pipeline_deliveries_total",
      help: "Requests to pipeline stages (embedded: the built-in default), by stage and outcome (delivered; failed: retried; refused)",
      labelNames: ["stage", "outcome"] as const,
      registers: [registry],
    }),
    webhooks: new Counter({
      name: "dc_webhook_requests_total",
      help: "Webhook requests, by provider and outcome (accepted, duplicate, refused)",
      labelNames: ["provider", "outcome"] as const,
      registers: [registry],
    }),
  };
  // Present from the start, so that an alert on a rate of failed files has a series to read.
  for (const outcome of FILE_OUTCOMES) counters.files.inc({ outcome }, 0);
  return counters;
}

// One set per process: the web server loads this module both in its own code (the webhook
// routes it serves directly) and in Next's bundle (GET /api/metrics), and both must count alike.
const globalForCounters = globalThis as unknown as { dataConnectorCounters?: ReturnType<typeof createCounters> };
const counters = (globalForCounters.dataConnectorCounters ??= createCounters());
const { providerRequests, rateLimitWait, files, deliveries, webhooks } = counters;

/**
 * Counters kept by this process. Workers publish a snapshot with each heartbeat
 * (workers.metrics) and GET /api/metrics sums every live process's snapshot, so one scrape of
 * the web server covers workers on other machines too.
 */
export const processMetrics: Registry = counters.registry;

export type WebhookOutcome = "accepted" | "duplicate" | "refused";

export function countProviderRequest(provider: string, status: number): void {
  providerRequests.inc({ provider, status: String(status) });
}

export function countRateLimitWait(provider: string, seconds: number): void {
  if (seconds > 0) rateLimitWait.inc({ provider }, seconds);
}

export function countFiles(outcome: FileOutcome, n = 1): void {
  if (n > 0) files.inc({ outcome }, n);
}

export function countDelivery(stage: string, outcome: "delivered" | "failed" | "refused"): void {
  deliveries.inc({ stage, outcome });
}

export function countWebhook(provider: string, outcome: WebhookOutcome): void {
  webhooks.inc({ provider, outcome });
}
