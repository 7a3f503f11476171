/**
 * Limits on what one provider may cost a process, read at each use so that tests can lower
 * them: a request's time (PROVIDER_TIMEOUT_SECONDS: until the answer, and then between any
 * two parts of a streamed archive), a response body's size, the pages of one listing and the
 * entries of one archive.
 */
/** A file larger than this is not indexed unless the source's `maxFileSize` says otherwise. */
export const DEFAULT_MAX_FILE_SIZE = 1024 * 1024;

export type ProviderLimits = { timeoutMs: number; maxResponseBytes: number; maxPages: number; maxEntries: number };

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return process.env[name] && Number.isFinite(value) && value > 0 ? value : fallback;
}

export function providerLimits(): ProviderLimits {
  return {
    timeoutMs: Math.round(positive("PROVIDER_TIMEOUT_SECONDS", 30) * 1000),
    maxResponseBytes: Math.round(positive("PROVIDER_MAX_RESPONSE_MB", 128) * 1024 * 1024),
    maxPages: Math.floor(positive("PROVIDER_MAX_PAGES", 10_000)),
    maxEntries: Math.floor(positive("PROVIDER_MAX_ENTRIES", 1_000_000)),
  };
}
