import { Dropbox, DropboxResponseError } from "dropbox";
import {
  ConnectorAuthError,
  ConnectorConfigError,
  ConnectorError,
  ConnectorRateLimitError,
  ConnectorSyncError,
} from "../errors";
import { guardedFetch } from "../host-guard";

/**
 * The SDK always builds `https://{api,content}.dropboxapi.com/2/<route>`; with DROPBOX_API_URL
 * set, both hosts' routes are sent to `<DROPBOX_API_URL>/2/<route>` instead. Every call goes
 * through guardedFetch (its time and size limits).
 */
export function dropboxFetch(base = process.env.DROPBOX_API_URL): typeof fetch {
  if (!base)
    return ((url: string | URL, init?: RequestInit) =>
      guardedFetch(url, init, { provider: "dropbox" })) as typeof fetch;
  const root = base.replace(/\/+$/, "");
  return ((url: string | URL, init?: RequestInit) =>
    guardedFetch(String(url).replace(/^https:\/\/[^/]+\/2\//, `${root}/2/`), init, {
      provider: "dropbox",
    })) as typeof fetch;
}

/** The URL of a route on Dropbox's content host (or on DROPBOX_API_URL when set). */
export function contentRouteUrl(route: string, base = process.env.DROPBOX_API_URL): string {
  return `${base ? base.replace(/\/+$/, "") : "https://content.dropboxapi.com"}/2/${route}`;
}

export function createDropboxClient(accessToken: string): Dropbox {
  return new Dropbox({ accessToken, fetch: dropboxFetch() });
}

type DropboxErrorBody =
  { error_summary?: string; error?: { ".tag"?: string; retry_after?: number; reason?: { ".tag"?: string } } } | string;

export function errorSummary(err: unknown): string {
  if (!(err instanceof DropboxResponseError)) return "";
  const body = err.error as DropboxErrorBody;
  return typeof body === "string" ? body : (body?.error_summary ?? "");
}

/** Seconds from Retry-After (header, or retry_after in the body), else a short default. */
function retryAfterSeconds(err: DropboxResponseError<unknown>): number {
  const header = typeof err.headers?.get === "function" ? err.headers.get("retry-after") : err.headers?.["retry-after"];
  const fromHeader = Number(header);
  if (Number.isFinite(fromHeader) && fromHeader >= 0 && header !== null && header !== undefined) return fromHeader;
  const body = err.error as DropboxErrorBody;
  const fromBody = typeof body === "object" ? body?.error?.retry_after : undefined;
  return typeof fromBody === "number" ? fromBody : 5;
}

/** The Dropbox failure as a connector error that says what to do. 409s are left to the caller. */
export function toConnectorError(err: unknown, what: string): unknown {
  if (err instanceof ConnectorError) return err;
  if (err instanceof DropboxResponseError) {
    const summary = errorSummary(err);
    if (err.status === 401) {
      return new ConnectorAuthError(
        `Dropbox refused the token (${summary || "401"}): reconnect the account or set a new config.token.`,
      );
    }
    if (err.status === 429) {
      const seconds = retryAfterSeconds(err);
      return new ConnectorRateLimitError(
        `Dropbox is throttling ${what} (${summary || "too_many_requests"}), retry after ${seconds}s`,
        new Date(Date.now() + seconds * 1000),
      );
    }
    if (err.status === 400) return new ConnectorConfigError(`Dropbox rejected ${what}: ${summary || "bad request"}`);
    if (err.status === 403)
      return new ConnectorAuthError(
        `Dropbox denied ${what} (${summary || "403"}): the app lacks the files.content.read scope or access.`,
      );
    if (err.status >= 500) return new ConnectorSyncError(`Dropbox failed on ${what} (HTTP ${err.status}); will retry.`);
    return err;
  }
  return new ConnectorSyncError(`Could not reach Dropbox for ${what}: ${(err as Error).message}`);
}
