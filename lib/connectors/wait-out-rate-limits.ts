import { AsyncLocalStorage } from "node:async_hooks";
import { currentSync } from "@/lib/log";
import { countRateLimitWait } from "@/lib/metrics/counters";
import { ConnectorRateLimitError } from "./errors";

/** Rate-limit waits longer than this are thrown instead (pg-boss retries the attempt later). */
export const MAX_INLINE_WAIT_MS = 15 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one sync may still spend waiting for rate limits, across all of its requests. */
const budgets = new AsyncLocalStorage<{ remainingMs: number }>();

/**
 * Runs one sync attempt with a total rate-limit wait budget (RATE_LIMIT_WAIT_BUDGET_SECONDS,
 * default an hour): once spent, the next rate limit is thrown, and pg-boss retries the attempt
 * later instead of a provider holding the worker without end.
 */
export function withRateLimitBudget<T>(run: () => Promise<T>): Promise<T> {
  const seconds = Number(process.env.RATE_LIMIT_WAIT_BUDGET_SECONDS);
  const remainingMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60 * 60_000;
  return budgets.run({ remainingMs }, run);
}

/** Runs `run` with rate limits thrown at once (a poll: its schedule waits, not the request). */
export function withoutRateLimitWaits<T>(run: () => Promise<T>): Promise<T> {
  return budgets.run({ remainingMs: 0 }, run);
}

/**
 * Runs one provider request, waiting out its rate limits (shown through `onWait`, counted in
 * dc_provider_rate_limit_wait_seconds_total under the running sync's provider) and trying
 * again, so that a listing half way through never loses its place.
 */
export async function waitOutRateLimits<T>(
  call: () => Promise<T>,
  onWait?: (detail: string | null) => Promise<void>,
): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ConnectorRateLimitError)) throw err;
      const wait = Math.max(0, err.retryAt.getTime() - Date.now());
      const budget = budgets.getStore();
      if (wait > MAX_INLINE_WAIT_MS || (budget && wait > budget.remainingMs)) throw err;
      if (budget) budget.remainingMs -= wait;
      await onWait?.(`waiting for rate limit until ${err.retryAt.toISOString()} (${err.message})`);
      // Jitter, so that the workers a limit stopped together do not all return at once.
      const pause = wait + Math.random() * 250;
      // Counted as the wait begins, so that a long one shows while it lasts.
      countRateLimitWait(currentSync()?.provider ?? "other", pause / 1000);
      await sleep(pause);
      await onWait?.(null);
    }
  }
}
