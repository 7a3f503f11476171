import { randomUUID } from "node:crypto";
import pg from "pg";
import { databaseUrl, getPool } from "@/lib/db/client";
import type { Source } from "@/lib/db/schema";
import type { WebhookProvider } from "./callback-url";

export type Follower = Pick<Source, "id" | "config" | "webhookSecret">;

// The sources that follow a repository, asked on every push. They are cached in this process
// while a LISTEN connection hears every change to sources (a trigger of migration 0008 notifies
// `sources_changed` on inserts, deletes, truncation and changes of type, config or webhook secret), so
// that a burst of pushes costs no query each. Without that connection (not opened yet, lost,
// or a database that does not deliver notifications, such as the embedded one) every lookup
// asks the database, as before.
const CHANNEL = "sources_changed";

type CacheState = {
  entries: Map<string, Follower[]>;
  /** Bumped by every notification: a lookup that started before one must not be cached. */
  generation: number;
  listening: boolean;
  client: pg.Client | null;
  starting: boolean;
  /** After a failed attempt, no other before this time (ms): no connection per webhook. */
  retryAt: number;
};
const globalForFollowers = globalThis as unknown as { dataConnectorFollowers?: CacheState };
const state = (globalForFollowers.dataConnectorFollowers ??= {
  entries: new Map(),
  generation: 0,
  listening: false,
  client: null,
  starting: false,
  retryAt: 0,
});
const RETRY_AFTER_MS = 60_000;
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
async function listen(): Promise<void> {
  if (state.starting || state.client || Date.now() < state.retryAt) return;
  state.starting = true;
  const client = new pg.Client({ connectionString: databaseUrl() });
  const stop = () => {
    if (state.client === client) {
      state.listening = false;
      state.client = null;
      forget();
    }
    client.end().catch(() => {});
  };
  try {
    client.on("error", stop);
    client.on("end", stop);
    await client.connect();
    // This connection only listens: it must not keep a process alive that is otherwise done.
    (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
    const probe = randomUUID();
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 2_000);
      client.on("notification", (n) => {
        if (n.channel !== CHANNEL) return;
        forget();
        if (n.payload === probe) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await client.query(`LISTEN ${CHANNEL}`);
    // Sent from another connection, as the trigger's notifications are.
    await getPool().query("select pg_notify($1, $2)", [CHANNEL, probe]);
    if (!(await heard)) throw new Error("notifications are not delivered");
    state.client = client;
    forget();
    state.listening = true;
  } catch {
    state.retryAt = Date.now() + RETRY_AFTER_MS;
    stop();
  } finally {
    state.starting = false;
  }
}

async function query(provider: WebhookProvider, repo: string): Promise<Follower[]> {
  const { rows } = await getPool().query<{
    id: string;
    config: Record<string, unknown>;
    webhook_secret: string | null;
  }>(`select id, config, webhook_secret from sources where type = $1 and lower(config->>'repo') = lower($2)`, [
    provider,
    repo,
  ]);
  return rows.map((r) => ({ id: r.id, config: r.config, webhookSecret: r.webhook_secret }));
}

/**
 * Sources of this provider that follow `repo` (case-insensitive, as providers treat names), by
 * the index on (type, lower(config->>'repo')). `fresh` skips the cache (a signature that
 * matched no cached secret is checked against the database before it is refused).
 */
export async function repositoryFollowers(
  provider: WebhookProvider,
  repo: string,
  { fresh = false } = {},
): Promise<Follower[]> {
  if (!state.listening) {
    void listen();
    return query(provider, repo);
  }
  const key = `${provider}\u0000${repo.toLowerCase()}`;
  const cached = fresh ? undefined : state.entries.get(key);
  if (cached) return cached;
  const generation = state.generation;
  const found = await query(provider, repo);
  if (state.listening && state.generation === generation) {
    if (state.entries.size >= MAX_ENTRIES) state.entries.clear();
    state.entries.set(key, found);
  }
  return found;
}

/** Whether lookups are being cached (the LISTEN connection is open and proven). */
export function followerCacheListening(): boolean {
  return state.listening;
}

/** Closes the LISTEN connection (tests, shutdown). */
export async function stopFollowerCache(): Promise<void> {
  const client = state.client;
  state.listening = false;
  state.client = null;
  forget();
  state.retryAt = 0;
  await client?.end().catch(() => {});
}
