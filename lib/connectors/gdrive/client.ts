import { drive, type drive_v3 } from "@googleapis/drive";
import {
  ConnectorAuthError,
  ConnectorConfigError,
  ConnectorError,
  ConnectorRateLimitError,
  ConnectorSyncError,
} from "../errors";
import { guardedFetch } from "../host-guard";

/**
 * A Drive v3 client for one access token. GOOGLE_API_URL is googleapis' `rootUrl`. The
 * library's own retries are off: rate limits are waited out by the connector, visibly. Its
 * requests go through guardedFetch (the address check, time and size limits).
 */
export function createDriveClient(accessToken: string): drive_v3.Drive {
  return drive({
    version: "v3",
    rootUrl: process.env.GOOGLE_API_URL || undefined,
    headers: { Authorization: `Bearer ${accessToken}` },
    retry: false,
    fetchImplementation: (input: string | URL | Request, init?: RequestInit) =>
      guardedFetch(input, init, { provider: "gdrive" }),
  });
}

type GoogleErrorBody = {
  error?: { code?: number; message?: string; errors?: { reason?: string; message?: string }[]; status?: string };
};

export type GoogleFailure = {
  status: number | null;
  reason: string | null;
  message: string;
  retryAfter: number | null;
};

/**
 * A Drive answer the caller judges by status (404, a file-level 403). It keeps status, reason
 * and message only: the library's error (request config, headers) never travels further.
 */
export class DriveApiError extends ConnectorError {
  constructor(readonly failure: GoogleFailure) {
    super(`Google Drive answered ${failure.status}${failure.reason ? ` ${failure.reason}` : ""}: ${failure.message}`);
    this.name = "DriveApiError";
  }
}

/** Status, reason and message of a googleapis (gaxios) error; null status for network failures. */
export function googleFailure(err: unknown): GoogleFailure {
  if (err instanceof DriveApiError) return err.failure;
  const e = err as {
    status?: number;
    code?: string | number;
    message?: string;
    response?: { status?: number; data?: unknown; headers?: unknown };
  };
  const status = e.response?.status ?? (typeof e.status === "number" ? e.status : null);
  let data = e.response?.data as GoogleErrorBody | string | ArrayBuffer | undefined;
  if (data instanceof ArrayBuffer) {
    try {
      data = JSON.parse(Buffer.from(data).toString("utf8")) as GoogleErrorBody;
    } catch {
      data = undefined;
    }
  }
  const body = typeof data === "object" && data !== null ? (data as GoogleErrorBody).error : undefined;
  const headers = e.response?.headers as { get?: (k: string) => string | null } | Record<string, string> | undefined;
  const retryHeader =
    typeof headers?.get === "function"
      ? headers.get("retry-after")
      : (headers as Record<string, string> | undefined)?.["retry-after"];
  const retryAfter =
    retryHeader !== null && retryHeader !== undefined && Number.isFinite(Number(retryHeader))
      ? Number(retryHeader)
      : null;
  return {
    status,
    reason: body?.errors?.[0]?.reason ?? null,
    message: body?.message ?? e.message ?? "unknown error",
    retryAfter,
  };
}

const RATE_LIMIT_REASONS = new Set(["userRateLimitExceeded", "rateLimitExceeded"]);

export function isRateLimit(f: GoogleFailure): boolean {
  return f.status === 429 || (f.status === 403 && f.reason !== null && RATE_LIMIT_REASONS.has(f.reason));
}

/**
 * A Drive failure as a connector error. 404s and file-level 403s are returned as they are for
 * the caller to judge (a missing file is not a broken source). `backoffSeconds` is used when
 * Google sends no Retry-After (it usually does not).
 */
export function toConnectorError(err: unknown, what: string, backoffSeconds: number): unknown {
  if (err instanceof ConnectorError) return err;
  const f = googleFailure(err);
  if (isRateLimit(f)) {
    const seconds = f.retryAfter ?? backoffSeconds;
    return new ConnectorRateLimitError(
      `Google Drive rate limit on ${what} (HTTP ${f.status}${f.reason ? ` ${f.reason}` : ""})`,
      new Date(Date.now() + seconds * 1000),
    );
  }
  if (f.status === 401)
    return new ConnectorAuthError(
      `Google Drive refused the token (${f.message}): reconnect the account or set a new config.token.`,
    );
  if (f.status === 400) return new ConnectorConfigError(`Google Drive rejected ${what}: ${f.message}`);
  if (f.status === null || f.status >= 500)
    return new ConnectorSyncError(`Google Drive failed on ${what} (${f.status ?? f.message}); will retry.`);
  return new DriveApiError(f);
}
