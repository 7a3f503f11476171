import { ConnectorRateLimitError } from "./errors";

/** Rate-limit waits longer than this are thrown instead (pg-boss retries the attempt later). */
export const MAX_INLINE_WAIT_MS = 15 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one provider request, waiting out its rate limits (shown through `onWait`) and
 * trying again, so that a listing half way through never loses its place.
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
      const wait = err.retryAt.getTime() - Date.now();
      if (wait > MAX_INLINE_WAIT_MS) throw err;
      await onWait?.(`waiting for rate limit until ${err.retryAt.toISOString()} (${err.message})`);
      // Jitter, so that the workers a limit stopped together do not all return at once.
      await sleep(Math.max(0, wait) + Math.random() * 250);
      await onWait?.(null);
    }
  }
}
