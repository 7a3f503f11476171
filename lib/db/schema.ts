import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  doublePrecision,
  bigserial,
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer }>({ dataType: () => "bytea" });

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: varchar("email", { length: 320 }).notNull(),
    name: varchar("name", { length: 255 }),
    passwordHash: text("password_hash"),
    role: varchar("role", { length: 20 }).notNull().default("member"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("users_email_key").on(sql`lower(${t.email})`)],
);

export const credentials = pgTable(
  "credentials",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    provider: varchar("provider", { length: 50 }).notNull(),
    kind: varchar("kind", { length: 20 }).notNull().default("oauth"),
    accountId: varchar("account_id", { length: 255 }),
    accountName: varchar("account_name", { length: 255 }),
    // The origin that issued the token (GitLab: gitlab.com or a self-managed host): its token is sent nowhere else.
    host: varchar("host", { length: 255 }),
    // AES-256-GCM payload (iv, tag, ciphertext) and the id of the key that sealed it.
    secret: text("secret").notNull(),
    keyId: varchar("key_id", { length: 64 }).notNull(),
    scopes: text("scopes"),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    // active | needs_reauth (the provider refused the refresh token: the user must reconnect).
    status: varchar("status", { length: 20 }).notNull().default("active"),
    // Whether the sealed secret holds a refresh token, so the refresh job can find candidates unsealed.
    refreshable: boolean("refreshable").notNull().default(false),
    lastRefreshedAt: timestamp("last_refreshed_at", { withTimezone: true }),
    // What went wrong last (never a token): shown beside the reconnect button.
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("credentials_user_id_idx").on(t.userId),
    index("credentials_expires_at_idx")
      .on(t.expiresAt)
      .where(sql`${t.refreshable}`),
  ],
);

// Sign-in attempts, per account (`email:<lowercased>`) and per client address (`ip:<addr>`),
// in PostgreSQL so that every web process shares it.
export const signInThrottles = pgTable(
  "sign_in_throttles",
  {
    key: varchar("key", { length: 400 }).primaryKey(),
    attempts: integer("attempts").notNull().default(0),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("sign_in_throttles_last_attempt_at_idx").on(t.lastAttemptAt)],
);

// Sessions signed out before they expire, by session id (`sid`, one per sign-in, carried by
// every token refreshed from it): a copied cookie stops working at sign-out instead of at
// expiry. Rows are dropped once the session would have ended anyway.
export const revokedSessions = pgTable("revoked_sessions", {
  sid: varchar("sid", { length: 64 }).primaryKey(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
});

// One pending OAuth connection: single use (deleted when the callback reads it), bound to the
// browser that started it (hash of a cookie) and to the provider, with its PKCE verifier sealed.
export const oauthStates = pgTable(
  "oauth_states",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    stateHash: varchar("state_hash", { length: 64 }).notNull(),
    provider: varchar("provider", { length: 50 }).notNull(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    bindingHash: varchar("binding_hash", { length: 64 }).notNull(),
    codeVerifier: text("code_verifier").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    returnTo: text("return_to").notNull().default("/settings"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("oauth_states_state_hash_key").on(t.stateHash),
    index("oauth_states_expires_at_idx").on(t.expiresAt),
  ],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 255 }).notNull(),
    // SHA-256 of the token; the token itself is shown once and never stored.
    tokenHash: varchar("token_hash", { length: 64 }).notNull(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("api_tokens_token_hash_key").on(t.tokenHash)],
);

export const sources = pgTable(
  "sources",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    type: varchar("type", { length: 50 }).notNull(),
    name: varchar("name", { length: 255 }).notNull(),
    config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
    status: varchar("status", { length: 50 }).notNull().default("pending"),
    // Why the source is in `error` or `needs_reauth`, for people; cleared by the next completed sync.
    statusDetail: text("status_detail"),
    lastSyncAt: timestamp("last_sync_at", { withTimezone: true }),
    webhookId: varchar("webhook_id", { length: 255 }),
    // Provider position after the last completed sync: commit SHA, page token, cursor.
    cursor: text("cursor"),
    // The provider token given in config, sealed with encryptSecret (associated data: the
    // source id); never stored in `config`.
    tokenSecret: text("token_secret"),
    // The per-source webhook secret, sealed the same way; null when the source is polled.
    webhookSecret: text("webhook_secret"),
    // SHA-256 (hex) of the webhook secret: GitLab sends the secret itself, and this finds its
    // source before the body is read (see webhook-candidates).
    webhookTokenHash: varchar("webhook_token_hash", { length: 64 }),
    // The provider account the source reads as (Dropbox account id): app-wide webhooks name it.
    accountId: varchar("account_id", { length: 255 }),
    // Rows in `files` for this source, kept by statement-level triggers on files (migration
    // 0007), so that listing 10,000 sources never counts a million files.
    fileCount: integer("file_count").notNull().default(0),
    // Fencing generation: bumped when a sync attempt starts, a running sync is cancelled or the
    // source is deleted. An attempt writes and delivers only while the fence is still its own.
    fence: bigint("fence", { mode: "number" }).notNull().default(0),
    // The source's last redelivery generation (see lib/changes/redeliver): 0 until the first.
    redeliveryGeneration: integer("redelivery_generation").notNull().default(0),
    // When a verify job last compared the index with the source, and the files it found
    // missing, extra or differing then (0: exact; null: never verified).
    verifiedAt: timestamp("verified_at", { withTimezone: true }),
    drift: integer("drift"),
    // Polling (sources no push reaches): when the poll scheduler next asks the provider, and the
    // source's own interval in seconds, which grows while it does not change and shrinks after
    // a change (see poll-schedule). null: not placed yet.
    nextPollAt: timestamp("next_poll_at", { withTimezone: true }),
    pollInterval: integer("poll_interval"),
    // The validator of the last head lookup (GitHub's ETag with the sha it stands for): the next
    // lookup, from any worker, asks conditionally and a 304 costs no rate limit.
    headValidator: jsonb("head_validator").$type<{ etag: string; head: string }>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("sources_user_id_idx").on(t.userId),
    index("sources_type_idx").on(t.type),
    index("sources_type_account_id_idx").on(t.type, t.accountId),
    // GET /api/sources pages newest first (see list-sources), reading this backwards.
    index("sources_created_at_id_idx").on(t.createdAt, t.id),
    // Webhooks find the sources that follow a repository by this (see receive-git-webhook).
    index("sources_type_repo_idx").on(t.type, sql`lower(${t.config}->>'repo')`),
    // Webhooks find the source that sent them from their headers by these (see webhook-candidates).
    index("sources_type_webhook_id_idx").on(t.type, t.webhookId),
    index("sources_type_webhook_token_hash_idx").on(t.type, t.webhookTokenHash),
  ],
);

// What each provider budget (a credential, a token, or the anonymous requests of one host) may
// still spend on polls: a token bucket, and how long the provider asked it to stop (429).
export const pollBudgets = pgTable("poll_budgets", {
  key: varchar("key", { length: 255 }).primaryKey(),
  tokens: doublePrecision("tokens").notNull(),
  refilledAt: timestamp("refilled_at", { withTimezone: true }).notNull(),
  backoffUntil: timestamp("backoff_until", { withTimezone: true }),
  // Rate limits met in a row: each doubles the back-off; a poll that goes through clears them.
  strikes: integer("strikes").notNull().default(0),
});

// Google Drive push channels (changes.watch). A source has one, two while a renewal overlaps
// the old and the new. The channel token authenticates notifications; it is stored sealed.
export const driveChannels = pgTable(
  "drive_channels",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id").notNull(),
    channelId: varchar("channel_id", { length: 64 }).notNull(),
    // Google's id of the watched resource, known once the watch call returns.
    resourceId: varchar("resource_id", { length: 255 }),
    sealedToken: text("sealed_token").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("drive_channels_channel_id_key").on(t.channelId),
    index("drive_channels_source_id_idx").on(t.sourceId),
    index("drive_channels_expires_at_idx").on(t.expiresAt),
    foreignKey({ name: "drive_channels_source_id_fkey", columns: [t.sourceId], foreignColumns: [sources.id] }).onDelete(
      "cascade",
    ),
  ],
);

export const files = pgTable(
  "files",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id").notNull(),
    // COLLATE "C" (migration 0010, not expressible here): paths order byte by byte, so one
    // index serves the file browser's order, its cursor and its `LIKE 'prefix%'` filter.
    path: varchar("path", { length: 1024 }).notNull(),
    sha: varchar("sha", { length: 64 }),
    size: bigint("size", { mode: "number" }),
    language: varchar("language", { length: 50 }),
    lastModified: timestamp("last_modified", { withTimezone: true }),
    indexedAt: timestamp("indexed_at", { withTimezone: true }),
    // Provider's own identity or version of the entry (Drive file id, git blob SHA, mtime+size).
    providerId: varchar("provider_id", { length: 255 }),
    providerVersion: varchar("provider_version", { length: 255 }),
    // The version downstream last accepted (see lib/changes): equal to `sha` once delivered.
    deliveredSha: varchar("delivered_sha", { length: 64 }),
    // Why a stage refused the indexed version (a 4xx); not sent again until retried.
    deliveryError: text("delivery_error"),
    /** The content is a Git LFS pointer (the object itself is stored elsewhere). */
    lfs: boolean("lfs").notNull().default(false),
  },
  (t) => [
    uniqueIndex("files_source_id_path_key").on(t.sourceId, t.path),
    index("files_sha_idx").on(t.sha),
    // A delivered version that is no longer the indexed one keeps its stored content (its chunks
    // may read their text there): few rows, so pruning asks cheaply.
    index("files_delivered_sha_idx")
      .on(t.deliveredSha)
      .where(sql`${t.deliveredSha} <> ${t.sha}`),
    index("files_source_id_language_idx").on(t.sourceId, t.language),
    foreignKey({ name: "files_source_id_fkey", columns: [t.sourceId], foreignColumns: [sources.id] }).onDelete(
      "cascade",
    ),
  ],
);

// A file's delivered chunks, in one row: chunk i is lines start_lines[i]..end_lines[i].
export const chunks = pgTable(
  "chunks",
  {
    fileId: uuid("file_id").notNull(),
    startLines: integer("start_lines").array().notNull(),
    endLines: integer("end_lines").array().notNull(),
    // Each chunk's text (a chunk stage's chunks). Null: each chunk is its lines of the file's
    // delivered content as normalizeText reads it (the embedded pipeline's own chunks; see
    // StoredChunk in lib/pipeline/chunk.ts), so the text is stored once, in file_contents.
    contents: text("contents").array(),
  },
  (t) => [
    primaryKey({ name: "chunks_pkey", columns: [t.fileId] }),
    foreignKey({ name: "chunks_file_id_fkey", columns: [t.fileId], foreignColumns: [files.id] }).onDelete("cascade"),
  ],
);

export const syncJobs = pgTable(
  "sync_jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id").notNull(),
    type: varchar("type", { length: 50 }).notNull(),
    trigger: varchar("trigger", { length: 50 }).notNull().default("manual"),
    status: varchar("status", { length: 50 }).notNull().default("queued"),
    progress: integer("progress").notNull().default(0),
    filesTotal: integer("files_total").notNull().default(0),
    filesProcessed: integer("files_processed").notNull().default(0),
    filesSkipped: integer("files_skipped").notNull().default(0),
    filesFailed: integer("files_failed").notNull().default(0),
    errorMessage: text("error_message"),
    // A human-readable note on what the job waits for (a rate limit, a retry).
    detail: text("detail"),
    // Paths named by a watcher or webhook; null means "ask the connector for the delta".
    paths: jsonb("paths").$type<string[] | null>(),
    // A full sync the user confirmed: it may remove more files than the deletion guard allows.
    confirmDeletes: boolean("confirm_deletes").notNull().default(false),
    attempts: integer("attempts").notNull().default(0),
    // What a verify job found (see VerifyResult); null for syncs.
    result: jsonb("result").$type<VerifyResult | null>(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index("sync_jobs_source_id_created_at_idx").on(t.sourceId, t.createdAt),
    index("sync_jobs_status_idx").on(t.status),
    foreignKey({ name: "sync_jobs_source_id_fkey", columns: [t.sourceId], foreignColumns: [sources.id] }).onDelete(
      "cascade",
    ),
  ],
);

export const syncJobFailures = pgTable(
  "sync_job_failures",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: uuid("job_id").notNull(),
    // Text, not varchar(1024): a path too long for the index is recorded here as its failure.
    path: text("path").notNull(),
    error: text("error").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("sync_job_failures_job_id_path_key").on(t.jobId, t.path),
    foreignKey({ name: "sync_job_failures_job_id_fkey", columns: [t.jobId], foreignColumns: [syncJobs.id] }).onDelete(
      "cascade",
    ),
  ],
);

// The fan-out of a large sync: its changed files split into batches, each a process-file-batch
// job that any worker may run. The sync waits until none is pending, then prunes and finishes.
export const syncJobBatches = pgTable(
  "sync_job_batches",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: uuid("job_id").notNull(),
    batchNo: integer("batch_no").notNull(),
    /** The fence of the sync attempt that made the batch: a batch of a stale attempt writes nothing. */
    fence: bigint("fence", { mode: "number" }).notNull().default(0),
    /** The listed files to read: path, size, version, id, lastModified. */
    files: jsonb("files").$type<BatchFileEntry[]>().notNull(),
    /** pending | done | failed */
    status: varchar("status", { length: 20 }).notNull().default("pending"),
    /** When failed: auth | permanent | transient, and the message. */
    errorKind: varchar("error_kind", { length: 20 }),
    errorMessage: text("error_message"),
    createdAt: createdAt(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("sync_job_batches_job_id_batch_no_key").on(t.jobId, t.batchNo),
    index("sync_job_batches_pending_idx")
      .on(t.jobId)
      .where(sql`${t.status} = 'pending'`),
    foreignKey({ name: "sync_job_batches_job_id_fkey", columns: [t.jobId], foreignColumns: [syncJobs.id] }).onDelete(
      "cascade",
    ),
  ],
);

/** A verify job's finding: counts, and up to 100 example paths of each kind. */
export type VerifyResult = {
  missing: number;
  extra: number;
  differing: number;
  /** The source moved on since the commit or cursor the index reflects (not drift). */
  behind: boolean;
  examples: { missing: string[]; extra: string[]; differing: string[] };
  /** Provider requests the comparison cost. */
  requests?: number;
};

export type BatchFileEntry = {
  path: string;
  size: number | null;
  version: string | null;
  id?: string | null;
  contentType?: string | null;
  lastModified?: string | null;
  ref?: string | null;
};

export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id").references(() => sources.id, { onDelete: "set null" }),
    sourceType: varchar("source_type", { length: 50 }).notNull(),
    eventType: varchar("event_type", { length: 100 }).notNull(),
    deliveryId: varchar("delivery_id", { length: 255 }),
    // A summary of the provider payload (what a sync could use), capped in size.
    payload: jsonb("payload").notNull(),
    // SHA-256 (hex) of a git delivery's raw body: a replay under a fresh delivery id is a duplicate.
    bodyHash: varchar("body_hash", { length: 64 }),
    processed: boolean("processed").notNull().default(false),
    processedAt: timestamp("processed_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("webhook_events_source_type_delivery_id_key").on(t.sourceType, t.deliveryId),
    index("webhook_events_source_id_idx").on(t.sourceId),
    index("webhook_events_source_id_body_hash_idx").on(t.sourceId, t.bodyHash),
    // The hourly prune deletes by age (see prune-webhook-events).
    index("webhook_events_created_at_idx").on(t.createdAt),
  ],
);

// The outbox: every change to `files`, written in the same transaction as the change itself, in
// `seq` order. Delivery reads it after the commit; rows outlive their source (no foreign key)
// so that a removed source's deletions are still delivered and visible to its owner.
export const changes = pgTable(
  "changes",
  {
    seq: bigserial("seq", { mode: "number" }).primaryKey(),
    sourceId: uuid("source_id").notNull(),
    ownerId: uuid("owner_id"),
    jobId: uuid("job_id"),
    /** upsert | delete */
    op: varchar("op", { length: 10 }).notNull(),
    path: varchar("path", { length: 1024 }).notNull(),
    sha: varchar("sha", { length: 64 }),
    size: bigint("size", { mode: "number" }),
    language: varchar("language", { length: 50 }),
    /** 0 for syncs; a redelivery appends a new generation. */
    generation: integer("generation").notNull().default(0),
    /** pending | delivered | failed (a stage refused it) | superseded (a later change of the path won) */
    status: varchar("status", { length: 20 }).notNull().default("pending"),
    error: text("error"),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
  },
  (t) => [
    index("changes_source_id_seq_idx").on(t.sourceId, t.seq),
    index("changes_source_id_path_idx").on(t.sourceId, t.path),
    // A member's feed (see lib/changes/list-changes).
    index("changes_owner_id_seq_idx").on(t.ownerId, t.seq),
    index("changes_pending_idx")
      .on(t.sourceId, t.path)
      .where(sql`${t.status} = 'pending'`),
    index("changes_pending_sha_idx")
      .on(t.sha)
      .where(sql`${t.status} = 'pending'`),
  ],
);

// The highest `seq` of a deletion the retention prune removed, per source (see
// lib/changes/prune-changes): a feed cursor below it that could see the source missed that
// deletion and must start again from the beginning.
export const changesPruned = pgTable(
  "changes_pruned",
  {
    sourceId: uuid("source_id").primaryKey(),
    ownerId: uuid("owner_id"),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [index("changes_pruned_owner_id_idx").on(t.ownerId)],
);

// File content, content-addressed (sha-256 of the raw bytes) and gzip-compressed: one row per
// distinct content, shared by every file and change that has it, removed when none does.
export const fileContents = pgTable("file_contents", {
  sha: varchar("sha", { length: 64 }).primaryKey(),
  content: bytea("content").notNull(),
});

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Credential = typeof credentials.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type OAuthState = typeof oauthStates.$inferSelect;
export type Source = typeof sources.$inferSelect;
export type NewSource = typeof sources.$inferInsert;
export type FileRow = typeof files.$inferSelect;
export type NewFileRow = typeof files.$inferInsert;
export type Chunk = typeof chunks.$inferSelect;
export type SyncJob = typeof syncJobs.$inferSelect;
export type SyncJobBatch = typeof syncJobBatches.$inferSelect;
export type WebhookEvent = typeof webhookEvents.$inferSelect;
export type DriveChannel = typeof driveChannels.$inferSelect;
export type PollBudget = typeof pollBudgets.$inferSelect;

/** One row per running worker process, refreshed by its heartbeat; a row not seen for a minute is a dead worker. */
export const workers = pgTable(
  "workers",
  {
    id: uuid("id").primaryKey(),
    pid: integer("pid").notNull(),
    host: varchar("host", { length: 255 }).notNull(),
    version: varchar("version", { length: 50 }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull(),
    jobsRunning: integer("jobs_running").notNull().default(0),
    // The process's counters (prom-client's JSON), summed by GET /api/metrics.
    metrics: jsonb("metrics"),
  },
  (t) => [index("workers_last_seen_at_idx").on(t.lastSeenAt)],
);

export type WorkerRow = typeof workers.$inferSelect;
export type Change = typeof changes.$inferSelect;
