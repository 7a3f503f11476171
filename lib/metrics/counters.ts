import { Counter, Registry } from "prom-client";

/**
 * Counters kept by this process. Workers publish a snapshot with each heartbeat
 * (workers.metrics) and GET /api/metrics sums every live process's snapshot, so one scrape of
 * the web server covers workers on other machines too.
 */
export const processMetrics = new Registry();

const providerRequests = new Counter({
  name: "dc_provider_requests_total",
  help: "Requests sent to providers, by provider and HTTP status (0: no answer)",
  labelNames: ["provider", "status"] as const,
  registers: [processMetrics],
});
const rateLimitWait = new Counter({
  name: "dc_provider_rate_limit_wait_seconds_total",
  help: "Seconds syncs spent waiting out provider rate limits",
  labelNames: ["provider"] as const,
  registers: [processMetrics],
});
const files = new Counter({
  name: "dc_files_total",
  help: "Files handled by syncs, by outcome (indexed, unchanged, skipped, failed, deleted)",
  labelNames: ["outcome"] as const,
  registers: [processMetrics],
});
const deliveries = new Counter({
  name: "dc_pipeline_deliveries_total",
  help: "Deliveries to pipeline stages, by stage and outcome (delivered, failed, refused)",
  labelNames: ["stage", "outcome"] as const,
  registers: [processMetrics],
});
const webhooks = new Counter({
  name: "dc_webhook_requests_total",
  help: "Webhook requests, by provider and outcome (accepted, duplicate, refused)",
  labelNames: ["provider", "outcome"] as const,
  registers: [processMetrics],
});

export type FileOutcome = "indexed" | "unchanged" | "skipped" | "failed" | "deleted";
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
