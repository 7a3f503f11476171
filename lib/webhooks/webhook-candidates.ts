import { createHash } from "node:crypto";
import { openWebhookSecret } from "@/lib/oauth/provider-token";
import { and, eq, inArray, isNotNull, isNull, type SQL } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { listenProven, type ListenerState } from "@/lib/db/proven-listener";
import { sources, type Source } from "@/lib/db/schema";
import type { WebhookProvider } from "./callback-url";

export type Candidate = Pick<Source, "id" | "config" | "webhookSecret">;

// The sources that may have sent a webhook, found from its headers alone (before its body is
// read): GitHub's hook id, Bitbucket's hook UUID, the SHA-256 of GitLab's token. They are cached
// in this process while a LISTEN connection hears every change to sources (a trigger notifies
// `sources_changed` on inserts, deletes, truncation and changes of type, config, webhook id,
// secret or token hash), so that a burst of pushes costs no query each. Without that connection
// (not opened yet, lost, or a database that does not deliver notifications, such as the
// embedded one) every lookup asks the database.
const CHANNEL = "sources_changed";

type CacheState = {
  entries: Map<string, Candidate[]>;
  /** Bumped by every notification: a lookup that started before one must not be cached. */
  generation: number;
} & ListenerState;
const globalForCandidates = globalThis as unknown as { dataConnectorWebhookCandidates?: CacheState };
const state = (globalForCandidates.dataConnectorWebhookCandidates ??= {
  entries: new Map(),
  generation: 0,
  listening: false,
  client: null,
  starting: false,
  retryAt: 0,
});
const MAX_ENTRIES = 10_000;

function forget(): void {
  state.entries.clear();
  state.generation++;
}

/**
 * Opens the LISTEN connection and proves it works (a notification sent from another connection
 * arrives) before the cache is used. On any failure the cache stays off, and a lookup a minute
 * later tries again. A connection lost later turns the cache off until a lookup reconnects.
 */
function listen(): Promise<void> {
  return listenProven(state, CHANNEL, { onNotify: forget, onLost: forget, onReady: forget });
}

/** What sources.webhook_token_hash holds: the SHA-256 (hex) of the webhook secret. */
export function webhookTokenHash(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Which sources own the hook a key names (by the indexes on (type, webhook_id) and (type, webhook_token_hash)). */
function ownerOf(provider: WebhookProvider, key: string): SQL {
  switch (provider) {
    case "github":
      return and(eq(sources.type, "github"), eq(sources.webhookId, key))!;
    case "bitbucket":
      // Bitbucket answers a hook's UUID in braces and sends it in X-Hook-UUID without them.
      return and(eq(sources.type, "bitbucket"), inArray(sources.webhookId, [key, `{${key}}`]))!;
    case "gitlab":
      return and(eq(sources.type, "gitlab"), eq(sources.webhookTokenHash, key))!;
  }
}

/** The key a provider's headers give, as stored; null when they give none. */
export function candidateKey(provider: WebhookProvider, headers: Headers): string | null {
  const value = (name: string) => headers.get(name)?.trim() || null;
  switch (provider) {
    case "github": {
      const id = value("x-github-hook-id");
      return id && /^\d{1,20}$/.test(id) ? id : null;
    }
    case "bitbucket": {
      const uuid = value("x-hook-uuid")
        ?.replace(/^\{|\}$/g, "")
        .toLowerCase();
      return uuid && /^[0-9a-f-]{1,64}$/.test(uuid) ? uuid : null;
    }
    case "gitlab": {
      const token = value("x-gitlab-token");
      return token && token.length <= 1024 ? webhookTokenHash(token) : null;
    }
  }
}

let gitlabHashesFilled: Promise<void> | null = null;

/**
 * GitLab sources whose webhook was registered before token hashes were stored get theirs once
 * per process (the secret is sealed, so no migration can compute it).
 */
function fillGitLabTokenHashes(): Promise<void> {
  gitlabHashesFilled ??= (async () => {
    const rows = await getDb()
      .select({ id: sources.id, webhookSecret: sources.webhookSecret })
      .from(sources)
      .where(and(eq(sources.type, "gitlab"), isNotNull(sources.webhookSecret), isNull(sources.webhookTokenHash)));
    for (const row of rows) {
      let secret: string | null;
      try {
        secret = openWebhookSecret(row);
      } catch {
        continue;
      }
      if (!secret) continue;
      await getDb()
        .update(sources)
        .set({ webhookTokenHash: webhookTokenHash(secret) })
        .where(
          and(eq(sources.id, row.id), eq(sources.webhookSecret, row.webhookSecret!), isNull(sources.webhookTokenHash)),
        );
    }
  })().catch((err: unknown) => {
    gitlabHashesFilled = null;
    throw err;
  });
  return gitlabHashesFilled;
}

async function query(provider: WebhookProvider, key: string): Promise<Candidate[]> {
  if (provider === "gitlab") await fillGitLabTokenHashes();
  return getDb()
    .select({ id: sources.id, config: sources.config, webhookSecret: sources.webhookSecret })
    .from(sources)
    .where(ownerOf(provider, key));
}

/**
 * Sources of this provider that own the hook `key` names (see candidateKey), by the indexes on
 * (type, webhook_id) and (type, webhook_token_hash). `fresh` skips the cache (a signature that
 * matched no cached secret is checked against the database before it is refused).
 */
export async function webhookCandidates(
  provider: WebhookProvider,
  key: string,
  { fresh = false } = {},
): Promise<Candidate[]> {
  if (!state.listening) {
    void listen();
    return query(provider, key);
  }
  const cacheKey = `${provider}\u0000${key}`;
  const cached = fresh ? undefined : state.entries.get(cacheKey);
  if (cached) return cached;
  const generation = state.generation;
  const found = await query(provider, key);
  if (state.listening && state.generation === generation) {
    if (state.entries.size >= MAX_ENTRIES) state.entries.clear();
    state.entries.set(cacheKey, found);
  }
  return found;
}

/** Whether lookups are being cached (the LISTEN connection is open and proven). */
export function candidateCacheListening(): boolean {
  return state.listening;
}

/** Closes the LISTEN connection (tests, shutdown). */
export async function stopCandidateCache(): Promise<void> {
  const client = state.client;
  state.listening = false;
  state.client = null;
  forget();
  state.retryAt = 0;
  gitlabHashesFilled = null;
  await client?.end().catch(() => {});
}
