import { randomUUID } from "node:crypto";
import pg from "pg";
import { databaseUrl, getPool } from "@/lib/db/client";

// Feed readers that wait (`wait`) are woken by a trigger's NOTIFY on every committed append to
// `changes`, heard on one LISTEN connection per process. The connection is proven first (a
// notification sent from another connection must arrive): a database that does not deliver
// them (the embedded one, where every client shares one backend) leaves readers polling.
const CHANNEL = "changes_appended";
const RETRY_AFTER_MS = 60_000;
/** While listening, a waiter also looks again this often: a rolled-back writer that held the horizon back notifies nobody. */
const LISTENING_RECHECK_MS = 1_000;
/** Without notifications, a waiter looks this often. */
const POLL_MS = 250;

type State = {
  client: pg.Client | null;
  listening: boolean;
  starting: boolean;
  retryAt: number;
  wake: Set<() => void>;
};
const globalForListener = globalThis as unknown as { dataConnectorChangesListener?: State };
const state = (globalForListener.dataConnectorChangesListener ??= {
  client: null,
  listening: false,
  starting: false,
  retryAt: 0,
  wake: new Set(),
});

function wakeAll(): void {
  for (const wake of [...state.wake]) wake();
}

async function listen(): Promise<void> {
  if (state.starting || state.client || Date.now() < state.retryAt) return;
  state.starting = true;
  const client = new pg.Client({ connectionString: databaseUrl() });
  const stop = () => {
    if (state.client === client) {
      state.client = null;
      state.listening = false;
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
        if (n.payload === probe) {
          clearTimeout(timer);
          resolve(true);
        }
        wakeAll();
      });
    });
    await client.query(`LISTEN ${CHANNEL}`);
    await getPool().query("select pg_notify($1, $2)", [CHANNEL, probe]);
    if (!(await heard)) {
      await client.query(`UNLISTEN ${CHANNEL}`).catch(() => {});
      throw new Error("notifications are not delivered");
    }
    state.client = client;
    state.listening = true;
  } catch {
    state.retryAt = Date.now() + RETRY_AFTER_MS;
    stop();
  } finally {
    state.starting = false;
  }
}

/**
 * Resolves when a change may have been appended (a notification), after a short recheck
 * interval, at `ms`, or when `signal` aborts, whichever comes first.
 */
export function waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
  if (!state.listening) void listen();
  const interval = state.listening ? LISTENING_RECHECK_MS : POLL_MS;
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      state.wake.delete(done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, Math.min(ms, interval)));
    state.wake.add(done);
    signal?.addEventListener("abort", done);
  });
}

/** Whether waiting readers are woken by notifications (false: they poll). */
export function changesListenerListening(): boolean {
  return state.listening;
}

/** Closes the LISTEN connection (tests, shutdown). */
export async function stopChangesListener(): Promise<void> {
  const client = state.client;
  state.client = null;
  state.listening = false;
  state.retryAt = 0;
  await client?.end().catch(() => {});
}
