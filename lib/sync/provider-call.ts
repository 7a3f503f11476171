import { ConnectorRateLimitError } from "@/lib/connectors/errors";

/** Rate-limit waits longer than this fail the attempt instead (pg-boss retries it later). */
const MAX_INLINE_WAIT_MS = 15 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A provider call that waits out rate limits (shown on the job through `setDetail`) instead of failing. */
export async function waitOutRateLimits<T>(call: () => Promise<T>, setDetail: (detail: string | null) => Promise<void>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ConnectorRateLimitError)) throw err;
      const wait = err.retryAt.getTime() - Date.now();
      if (wait > MAX_INLINE_WAIT_MS) throw err;
      await setDetail(`waiting for rate limit until ${err.retryAt.toISOString()}`);
      // Jitter, so that the workers a limit stopped together do not all return at once.
      await sleep(Math.max(0, wait) + Math.random() * 250);
      await setDetail(null);
    }
  }
}
