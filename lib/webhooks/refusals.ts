import { logger } from "@/lib/log";
import { countWebhook } from "@/lib/metrics/counters";
import type { WebhookProvider } from "./callback-url";

/** Why a webhook request was refused; each is counted, none is logged one by one. */
export type RefusalReason =
  "unauthorized" | "too_large" | "busy" | "timeout" | "unsupported_media_type" | "bad_request" | "unavailable";

export type WebhookRoute = WebhookProvider | "gdrive" | "dropbox";

const STATUS: Record<RefusalReason, number> = {
  unauthorized: 401,
  too_large: 413,
  busy: 503,
  timeout: 408,
  unsupported_media_type: 415,
  bad_request: 400,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  503: "Service Unavailable",
};

/** Seconds a client is asked to wait after a 503 for a full in-flight budget. */
export const BUSY_RETRY_AFTER_SECONDS = 5;

/** A webhook request turned away before anything was recorded. */
export class WebhookRefusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = "WebhookRefusal";
  }
}

type Counters = {
  total: Map<string, number>;
  /** Refusals since the last summary line, and whether one is scheduled. */
  window: Map<string, number>;
  timer: NodeJS.Timeout | null;
};
const globalForRefusals = globalThis as unknown as { dataConnectorWebhookRefusals?: Counters };
const counters = (globalForRefusals.dataConnectorWebhookRefusals ??= {
  total: new Map(),
  window: new Map(),
  timer: null,
});

/** At most one summary line per this many ms, however many requests are refused. */
const SUMMARY_INTERVAL_MS = 60_000;

function summarise(): void {
  counters.timer = null;
  if (counters.window.size === 0) return;
  const refused = Object.fromEntries([...counters.window].map(([key, n]) => [key.replace("\u0000", " "), n]));
  counters.window.clear();
  logger.warn({ refused }, "webhook requests refused in the last minute");
}

/**
 * Counts one refusal (also as dc_webhook_requests_total{outcome="refused"}); the counts are
 * summarised in one log line a minute later.
 */
export function countRefusal(provider: WebhookRoute, reason: RefusalReason): void {
  countWebhook(provider, "refused");
  const key = `${provider}\u0000${reason}`;
  counters.total.set(key, (counters.total.get(key) ?? 0) + 1);
  counters.window.set(key, (counters.window.get(key) ?? 0) + 1);
  if (!counters.timer) {
    counters.timer = setTimeout(summarise, SUMMARY_INTERVAL_MS);
    counters.timer.unref();
  }
}

/** Refusals since the process started, by provider and reason (for metrics). */
export function refusalCounts(): { provider: string; reason: RefusalReason; count: number }[] {
  return [...counters.total].map(([key, count]) => {
    const [provider, reason] = key.split("\u0000") as [string, RefusalReason];
    return { provider, reason, count };
  });
}

/** The problem+json answer to a refusal, counted and not logged. */
export function refusalResponse(provider: WebhookRoute, refusal: WebhookRefusal): Response {
  countRefusal(provider, refusal.reason);
  const status = STATUS[refusal.reason];
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (refusal.reason === "busy") headers["retry-after"] = String(BUSY_RETRY_AFTER_SECONDS);
  const problem = {
    type: `urn:data-connector:error:webhook_${refusal.reason}`,
    title: TITLES[status] ?? "Error",
    status,
    detail: refusal.message,
  };
  return new Response(JSON.stringify(problem), { status, headers });
}
