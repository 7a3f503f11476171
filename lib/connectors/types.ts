import type { z } from "zod";

import type { SourceType } from "@/lib/providers";

export { SOURCE_TYPES, type SourceType } from "@/lib/providers";

/** One file as the provider lists it, before its content is read. */
export type RemoteFile = {
  /** Slash-separated path relative to the source root, no leading slash. */
  path: string;
  /** Size in bytes when the listing knows it. */
  size: number | null;
  /**
   * The provider's cheap change marker (git blob SHA, Drive md5/version, Dropbox content_hash,
   * local size+mtime). Equal markers mean equal content, so the file is not fetched again.
   */
  version: string | null;
  /** Stable identity when the provider has one independent of the path (Drive file id). */
  id?: string | null;
  /** The provider's type of the entry when reading depends on it (Drive: mimeType, for exports). */
  contentType?: string | null;
  lastModified?: Date | null;
  /**
   * Git: the commit the entry was listed at. A reader created afresh (a batch on another
   * worker) reads the file there, never at a branch head that has moved on since.
   */
  ref?: string | null;
};

/**
 * A path a listing could not read (an unreadable folder or file, a name that is not UTF-8). The
 * sync records it as a failed path and keeps what the index has at and under it.
 */
export type ListingFailure = { path: string; error: string };

/** A file whose content was read in the same request as its listing (archives). */
export type RemoteFileWithContent = RemoteFile & { content: Buffer };

/**
 * One change from a delta feed. `id` is the provider's identity (RemoteFile.id): an upsert
 * carrying it also removes the rows that identity had at other paths (a rename or move), and
 * `delete-id` removes the rows of an identity whose path is no longer known. `file`, when the
 * provider's diff already says what the new version is (git: the blob SHA; Drive, Dropbox: the
 * listing), spares the sync a metadata request per changed file.
 */
export type FileChange =
  | { kind: "upsert"; path: string; id?: string; file?: RemoteFile }
  | {
      kind: "delete";
      path: string;
      /** The path and everything under it (a folder, or an entry of unknown kind). */
      subtree?: boolean;
      /** Match paths case-insensitively (providers whose paths are, like Dropbox). */
      ignoreCase?: boolean;
    }
  | { kind: "delete-id"; id: string }
  | { kind: "rename"; path: string; previousPath: string; file?: RemoteFile };

export type StreamFilesOptions = {
  /** Entries it refuses are skipped without being buffered. */
  accept?(path: string, size: number): boolean;
  /**
   * The files the caller wants, as listed: a connector that checks content against listed
   * versions (Dropbox) takes them from here instead of listing again, and may leave out what
   * it cannot serve (the caller reads those one by one). Absent: every file `accept` keeps.
   */
  wanted?: RemoteFile[];
};

/** The changes between a stored cursor and now. `reset` means the cursor is void: resync fully. */
export type Delta = { reset: false; changes: FileChange[]; cursor: string | null } | { reset: true };

export type WebhookRequest = { headers: Headers; rawBody: string };

export type WebhookRegistration = { webhookId: string };

/**
 * A provider behind one interface: listing, content, deltas and webhooks. One instance serves one sync of one
 * source: `currentCursor()` pins the snapshot that listing and content then refer to.
 */
export interface Connector {
  /** Throws a ConnectorConfigError or ConnectorAuthError that says what to fix. */
  validateConnection(): Promise<void | ConnectionInfo>;
  listFiles(path?: string, recursive?: boolean): AsyncIterable<RemoteFile>;
  /**
   * `listed`, when the caller has it, is the file as listed (its id and content type), so a
   * connector created afresh (a batch on another worker) need not look the path up again.
   */
  getFileContent(path: string, listed?: RemoteFile): Promise<Buffer>;
  /** null when the file does not exist (any more). */
  getFileMetadata(path: string): Promise<RemoteFile | null>;
  /**
   * What the listings and metadata lookups since the last call could not read; absent when
   * the connector reports such paths as errors instead.
   */
  takeListingFailures?(): ListingFailure[];
  /** The provider position now (commit SHA, page token, cursor); null when it has none. */
  currentCursor(): Promise<string | null>;
  /**
   * Whether anything changed since `cursor`, asked as cheaply as the provider allows (one
   * request); the poll of sources no push reaches. Absent: the poll compares currentCursor().
   */
  hasChanges?(cursor: string): Promise<boolean>;
  /** Changes since `cursor`; absent when the provider has no delta feed. */
  getChanges?(cursor: string): Promise<Delta>;
  /** Every file with its content in one stream (git archives); preferred by full syncs. */
  streamFiles?(options?: StreamFilesOptions): AsyncIterable<RemoteFileWithContent>;
  /**
   * Config the connector settled while validating (the default branch, the canonical
   * repository name), stored with the source so that every later run sees the same thing.
   */
  settledConfig?(): Record<string, unknown>;
  /**
   * Config the provider changed under the source during this run (a renamed or transferred
   * repository, found by its id), or learnt in it (the repository id of a source connected
   * before ids were stored), for the engine to store; null when none.
   */
  movedConfig?(): Record<string, unknown> | null;
  /** The validator of this run's head lookup, for the poller to store; null when it gave none. */
  headValidator?(): HeadValidator | null;
  setupWebhook?(callbackUrl: string): Promise<WebhookRegistration>;
  removeWebhook?(webhookId: string): Promise<void>;
  validateWebhook?(request: WebhookRequest): boolean;
  parseWebhook?(request: WebhookRequest): FileChange[];
}

/** What a connector is built from, as a source is stored (secrets sealed). */
export type StoredSource = {
  id: string;
  type: string;
  config: Record<string, unknown>;
  tokenSecret: string | null;
  webhookSecret: string | null;
  headValidator?: HeadValidator | null;
};

export type ConnectorContext = {
  sourceId: string | null;
  config: Record<string, unknown>;
  /** The provider token, decrypted (see resolveProviderToken); never part of `config`. */
  token?: string | null;
  /** The per-source webhook secret, decrypted; set when the source has (or gets) a webhook. */
  webhookSecret?: string | null;
  /**
   * Shows what a sync waits for (a rate limit) on its job, or clears it with null. Connectors
   * that wait inside a listing (where the engine cannot retry one page) report through it.
   */
  onWait?: (detail: string | null) => Promise<void>;
  /**
   * Git hosts: the commit to read instead of the branch head (a verify reads the commit the
   * index reflects); currentCursor() then answers it.
   */
  at?: string | null;
  /** The validator of the source's last head lookup, for a conditional one (see Connector.headValidator). */
  headValidator?: HeadValidator | null;
};

/** A provider's validator of a branch head (GitHub's ETag) with the head it stands for. */
export type HeadValidator = { etag: string; head: string };

/** What validateConnection learned about the account (stored on the source). */
export type ConnectionInfo = { accountId?: string | null };

export type ConnectorDefinition = {
  type: SourceType;
  /** Provider-specific config fields; the common filter fields are added by the registry. */
  configSchema: z.ZodType<Record<string, unknown>>;
  create(context: ConnectorContext): Connector;
  /** Config implied by the source's name (git hosts: `owner/repo`), under the config sent. */
  configFromName?(name: string): Record<string, unknown>;
  /**
   * Whether a webhook request is signed with this secret, without a connector (no SDK client
   * to build per request); the connectors' validateWebhook does the same with their own.
   */
  verifyWebhook?(secret: string, request: WebhookRequest): boolean;
};
