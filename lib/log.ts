import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Every field name that can carry a secret, at the top level and one level down (pino's
 * redaction paths are exact): such a value is replaced before the line is written.
 */
const SECRET_FIELDS = [
  "token",
  "accessToken",
  "refreshToken",
  "access_token",
  "refresh_token",
  "authorization",
  "Authorization",
  "cookie",
  "Cookie",
  "set-cookie",
  "password",
  "secret",
  "webhookSecret",
  "clientSecret",
  "client_secret",
  "apiKey",
];
export const REDACT_PATHS = [
  ...SECRET_FIELDS.map((f) => (/^[a-z_]+$/i.test(f) ? f : `["${f}"]`)),
  ...SECRET_FIELDS.map((f) => (/^[a-z_]+$/i.test(f) ? `*.${f}` : `*["${f}"]`)),
  "headers.authorization",
  "headers.cookie",
];

function destination(): DestinationStream | undefined {
  if (process.env.LOG_FORMAT !== "pretty") return undefined;
  // Loaded only when asked for: a terminal's format, not the production one.
  const require = createRequire(import.meta.url);
  const pretty = require("pino-pretty") as (options: Record<string, unknown>) => DestinationStream;
  return pretty({
    sync: true,
    colorize: process.stdout.isTTY,
    ignore: "pid,hostname",
    translateTime: "SYS:HH:MM:ss.l",
  });
}

/** What every line logged within a sync carries: its sourceId, jobId and provider. */
export type SyncLogFields = { sourceId: string; jobId?: string; provider: string };

const context = new AsyncLocalStorage<SyncLogFields>();

/**
 * The process's logger: JSON lines on stdout (LOG_FORMAT=pretty for a terminal), at LOG_LEVEL
 * (default info), secrets redacted. Lines about a sync come from `syncLogger(...)`, or from any
 * logger within `withSyncLog(...)` (a connector's, the pipeline's), which adds the same fields.
 */
export const logger: Logger = pino(
  {
    level: process.env.LOG_LEVEL || "info",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
    mixin(_fields, _level, instance) {
      const fields = context.getStore();
      if (!fields) return {};
      // A child logger's own bindings are written already: a key twice would make a line ambiguous.
      const bound = instance.bindings();
      return Object.fromEntries(Object.entries(fields).filter(([key]) => !(key in bound)));
    },
  },
  destination(),
);

/** The logger for lines about one sync or one source: every line carries its fields. */
export function syncLogger(fields: SyncLogFields): Logger {
  return logger.child(fields);
}

/** Runs `run` so that every line logged within it, by any logger, carries `fields`. */
export function withSyncLog<T>(fields: SyncLogFields, run: () => T): T {
  return context.run(fields, run);
}

/** The sync that the calling code works for (within `withSyncLog`), if any. */
export function currentSync(): SyncLogFields | undefined {
  return context.getStore();
}

/** An error as a log field: its message and name, never the objects a library hung on it (requests, headers). */
export function errorField(err: unknown): { message: string; name?: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, name: err.name, ...(typeof code === "string" ? { code } : {}) };
  }
  return { message: String(err) };
}
