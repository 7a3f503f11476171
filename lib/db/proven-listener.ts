import { randomUUID } from "node:crypto";
import pg from "pg";
import { databaseUrl, getPool } from "./client";

export type ListenerState = {
  client: pg.Client | null;
  listening: boolean;
  starting: boolean;
  /** After a failed attempt, no other before this time (ms): no connection per caller. */
  retryAt: number;
};

const RETRY_AFTER_MS = 60_000;

/**
 * Opens one LISTEN connection on `channel` and proves it before `state.listening` turns true: a
 * notification sent from another connection, as triggers send theirs, must arrive within 2 s (the
 * embedded database, where every client shares one backend, fails this). On failure no other
 * attempt is made for a minute. `onNotify` hears every notification on the channel; `onLost`
 * runs when a proven connection is lost, `onReady` once it is proven.
 */
export async function listenProven(
  state: ListenerState,
  channel: string,
  handlers: { onNotify: () => void; onLost?: () => void; onReady?: () => void },
): Promise<void> {
  if (state.starting || state.client || Date.now() < state.retryAt) return;
  state.starting = true;
  const client = new pg.Client({ connectionString: databaseUrl() });
  const stop = () => {
    if (state.client === client) {
      state.client = null;
      state.listening = false;
      handlers.onLost?.();
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
        if (n.channel !== channel) return;
        handlers.onNotify();
        if (n.payload === probe) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    await client.query(`LISTEN ${channel}`);
    await getPool().query("select pg_notify($1, $2)", [channel, probe]);
    if (!(await heard)) throw new Error("notifications are not delivered");
    state.client = client;
    handlers.onReady?.();
    state.listening = true;
  } catch {
    state.retryAt = Date.now() + RETRY_AFTER_MS;
    stop();
  } finally {
    state.starting = false;
  }
}
