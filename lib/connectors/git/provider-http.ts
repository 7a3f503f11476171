import { setTimeout as sleep } from "node:timers/promises";
import { guardedFetch, type GuardedFetchOptions } from "../host-guard";
import {
  ConnectorAuthError,
  ConnectorError,
  ConnectorNotFoundError,
  ConnectorRateLimitError,
  ConnectorSyncError,
} from "../errors";

/** Transient answers retried inline before the sync attempt fails (and pg-boss retries it). */
const RETRY_STATUSES = new Set([500, 502, 503, 504]);
const INLINE_RETRIES = 2;
/** Without a reset time, a rate-limited request waits this long (GitHub's advice for secondary limits). */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * guardedFetch plus a short jittered retry of idempotent requests on 5xx and network errors.
 * Rate-limit answers are returned as they are: the caller turns them into
 * ConnectorRateLimitError, which the sync engine waits out and shows on the job.
 */
export async function providerFetch(
  input: string | URL | Request,
  init?: RequestInit,
  options?: GuardedFetchOptions,
): Promise<Response> {
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  const idempotent = method === "GET" || method === "HEAD";
  for (let attempt = 0; ; attempt++) {
    const retry = idempotent && attempt < INLINE_RETRIES;
    try {
      const response = await guardedFetch(input instanceof Request ? input.clone() : input, init, options);
      if (!retry || !RETRY_STATUSES.has(response.status)) return response;
      await response.body?.cancel();
    } catch (err) {
      if (err instanceof ConnectorError || !retry) throw err;
    }
    await sleep(200 * 2 ** attempt + Math.random() * 200);
  }
}

type HeaderBag = Headers | Record<string, string | number | undefined>;

function header(headers: HeaderBag, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  const value = headers[name] ?? headers[name.toLowerCase()];
  return value === undefined ? null : String(value);
}

/**
 * When the provider asks us to wait, until when. GitHub: 429, or 403 with
 * x-ratelimit-remaining 0 or a secondary-limit message; GitLab: 429 with RateLimit-Reset;
 * Bitbucket: 429. Retry-After wins, then the reset epoch, then `fallbackWaitMs` (a minute).
 */
export function rateLimitRetryAt(
  status: number,
  headers: HeaderBag,
  message = "",
  fallbackWaitMs = DEFAULT_RATE_LIMIT_WAIT_MS,
): Date | null {
  const exhausted = header(headers, "x-ratelimit-remaining") === "0" || header(headers, "ratelimit-remaining") === "0";
  const secondary = /secondary rate limit|abuse detection/i.test(message);
  if (status !== 429 && !(status === 403 && (exhausted || secondary || header(headers, "retry-after")))) return null;
  const retryAfter = header(headers, "retry-after");
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return new Date(Date.now() + seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return new Date(date);
  }
  const reset = Number(header(headers, "x-ratelimit-reset") ?? header(headers, "ratelimit-reset"));
  if (exhausted && Number.isFinite(reset) && reset > 0) return new Date(reset * 1000);
  return new Date(Date.now() + fallbackWaitMs);
}

export type ErrorSubject = {
  provider: string;
  repo: string;
  tokenHint: string;
  /** How long a rate-limit answer that names no time waits (Bitbucket never names one). */
  rateLimitFallbackMs?: number;
  /** The host is a user's choice: its answers are never repeated in errors. */
  userChosenHost?: boolean;
};

/** A provider error answer as the connector error that says what to do about it. */
export function errorForStatus(
  status: number,
  headers: HeaderBag,
  message: string,
  subject: ErrorSubject,
): ConnectorError {
  const retryAt = rateLimitRetryAt(status, headers, message, subject.rateLimitFallbackMs);
  if (retryAt) return new ConnectorRateLimitError(`${subject.provider} rate limit reached (${status})`, retryAt);
  if (status === 401) {
    return new ConnectorAuthError(
      `${subject.provider} rejected the token (401): it is wrong, expired or revoked. Give the source a new token (${subject.tokenHint}).`,
    );
  }
  if (status === 403) {
    return new ConnectorAuthError(
      `${subject.provider} refused access to ${subject.repo} (403): the token lacks permission. Use a token that can read the repository (${subject.tokenHint}).`,
    );
  }
  if (status === 404) {
    return new ConnectorNotFoundError(
      `${subject.provider} repository ${subject.repo} was not found (404), or the token cannot see it. Check the repository name and that the token has access (${subject.tokenHint}).`,
      "repo",
    );
  }
  if (status >= 500 || status === 408)
    return new ConnectorSyncError(`${subject.provider} answered ${status}; will retry.`, { status });
  if (subject.userChosenHost) return new ConnectorSyncError(`${subject.provider} answered ${status}.`, { status });
  return new ConnectorSyncError(`${subject.provider} answered ${status}: ${message.slice(0, 200)}`, { status });
}

/** Turns a fetch failure (DNS, refused connection) into a retryable error; keeps connector errors. */
export function networkError(err: unknown, provider: string): ConnectorError {
  if (err instanceof ConnectorError) return err;
  return new ConnectorSyncError(`${provider} could not be reached: ${(err as Error).message}`, { cause: err });
}

export async function readBody(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}
