import { listenProven, type ListenerState } from "@/lib/db/proven-listener";

// Feed readers that wait (`wait`) are woken by a trigger's NOTIFY on every committed append to
// `changes`, heard on one LISTEN connection per process. The connection is proven first (a
// notification sent from another connection must arrive): a database that does not deliver
// them (the embedded one, where every client shares one backend) leaves readers polling.
const CHANNEL = "changes_appended";
/** While listening, a waiter also looks again this often: a rolled-back writer that held the horizon back notifies nobody. */
const LISTENING_RECHECK_MS = 1_000;
/** Without notifications, a waiter looks this often. */
const POLL_MS = 250;

type State = ListenerState & { wake: Set<() => void> };
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

function listen(): Promise<void> {
  return listenProven(state, CHANNEL, { onNotify: wakeAll });
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
