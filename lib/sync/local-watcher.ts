import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { resolveLocalRoot } from "@/lib/connectors/local";
import { DEFAULT_EXCLUDED_DIRS } from "./filters";
import { errorField, logger, syncLogger } from "@/lib/log";
import { requestSync, type SyncTrigger } from "./request-sync";

const EXCLUDED = new Set(DEFAULT_EXCLUDED_DIRS);

const watcherLog = (sourceId: string) => syncLogger({ sourceId, provider: "local" });

/** Seconds between two reconciles of every local source: LOCAL_RECONCILE_INTERVAL (default 600). */
export function localReconcileIntervalMs(): number {
  const seconds = Number(process.env.LOCAL_RECONCILE_INTERVAL ?? 600);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 600) * 1000;
}

type Watched = {
  folder: string;
  watcher: FSWatcher;
  pending: Set<string>;
  /** When the oldest change not yet handed to a sync was seen. */
  firstPendingAt: number | null;
  timer: NodeJS.Timeout | null;
};

export type LocalWatcherOptions = {
  /** Quiet time after the last change before a sync is queued (default 300 ms). */
  debounceMs?: number;
  /** A sync is queued at most this long after the first unsynced change, whatever follows (5 s). */
  maxDelayMs?: number;
  /** How often the set of local sources is re-read and lost watchers re-attached (3 s). */
  refreshMs?: number;
  /** How often every local source is reconciled (default LOCAL_RECONCILE_INTERVAL). */
  reconcileMs?: number;
  watch?: (root: string) => FSWatcher;
};

/**
 * The local connector's "webhook": a recursive filesystem watcher per local source that queues
 * one incremental sync naming the changed paths. What a watcher cannot see (changes while no
 * worker ran, a watcher that failed, events the kernel dropped) is caught by reconciles: a full
 * sync of every local source at start and every LOCAL_RECONCILE_INTERVAL seconds, and of one
 * source when its watcher fails (it is re-attached first). A full sync of a local source
 * compares size, mtime, ctime and inode and reads only the files where they differ.
 */
export class LocalWatcher {
  private readonly watched = new Map<string, Watched>();
  private readonly needsReconcile = new Set<string>();
  private intervals: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly options: LocalWatcherOptions = {}) {}

  async start(): Promise<void> {
    await this.refresh();
    await this.reconcileAll();
    this.intervals.push(
      setInterval(() => {
        this.refresh().catch((err) => logger.error({ error: errorField(err) }, "local watcher: refresh failed"));
      }, this.options.refreshMs ?? 3000),
      setInterval(() => void this.reconcileAll(), this.options.reconcileMs ?? localReconcileIntervalMs()),
    );
  }

  private async localSources(): Promise<{ id: string; config: Record<string, unknown> }[]> {
    return getDb().select({ id: sources.id, config: sources.config }).from(sources).where(eq(sources.type, "local"));
  }

  /** Queues a full sync of every local source (folded into one already waiting). */
  async reconcileAll(): Promise<void> {
    const rows = await this.localSources().catch((err: unknown) => {
      logger.error({ error: errorField(err) }, "local watcher: cannot list local sources to reconcile");
      return [];
    });
    for (const row of rows) await this.reconcile(row.id, "schedule");
  }

  private async reconcile(sourceId: string, trigger: SyncTrigger): Promise<void> {
    try {
      await requestSync({ sourceId, type: "full", trigger });
    } catch (err) {
      watcherLog(sourceId).error({ error: errorField(err) }, "local watcher: cannot queue a reconcile");
      this.needsReconcile.add(sourceId);
    }
  }

  /** Watches every local source, re-attaches lost watchers and stops watching removed sources. */
  async refresh(): Promise<void> {
    const rows = await this.localSources();
    const ids = new Set(rows.map((r) => r.id));
    for (const [id, w] of this.watched) {
      if (!ids.has(id)) this.unwatch(id, w);
    }
    for (const id of this.needsReconcile) if (!ids.has(id)) this.needsReconcile.delete(id);
    for (const row of rows) {
      if (this.stopped) return;
      const folder = String(row.config.path ?? "");
      const current = this.watched.get(row.id);
      if (current?.folder !== folder) {
        if (current) this.unwatch(row.id, current);
        try {
          await this.watchSource(row.id, folder);
        } catch (err) {
          watcherLog(row.id).error({ error: errorField(err) }, "local watcher: cannot watch the source");
          continue;
        }
      }
      if (this.needsReconcile.delete(row.id)) await this.reconcile(row.id, "watcher");
    }
  }

  private async watchSource(sourceId: string, folder: string): Promise<void> {
    const root = await resolveLocalRoot(folder);
    const watcher = (this.options.watch ?? ((r: string) => watch(r, { recursive: true })))(root);
    const entry: Watched = { folder, watcher, pending: new Set(), firstPendingAt: null, timer: null };
    watcher.on("change", (_event, filename) => {
      if (!filename) return;
      const rel = String(filename).split(path.sep).join("/");
      if (rel.split("/").some((segment) => EXCLUDED.has(segment))) return;
      entry.pending.add(rel);
      entry.firstPendingAt ??= Date.now();
      if (entry.timer) clearTimeout(entry.timer);
      const untilDeadline = entry.firstPendingAt + (this.options.maxDelayMs ?? 5000) - Date.now();
      const delay = Math.max(0, Math.min(this.options.debounceMs ?? 300, untilDeadline));
      entry.timer = setTimeout(() => this.flush(sourceId, entry), delay);
    });
    // A failed watcher may have missed changes: replaced by a new one, then the source reconciled.
    watcher.on("error", (err) => {
      watcherLog(sourceId).error(
        { error: errorField(err) },
        "local watcher failed: watching the source again and reconciling it",
      );
      if (this.watched.get(sourceId) === entry) this.unwatch(sourceId, entry);
      this.needsReconcile.add(sourceId);
      // After a pause, so that a watcher failing again at once cannot spin.
      const retry = setTimeout(() => {
        if (this.stopped) return;
        this.refresh().catch((e) => logger.error({ error: errorField(e) }, "local watcher: refresh failed"));
      }, 1000);
      retry.unref();
    });
    this.watched.set(sourceId, entry);
  }

  private flush(sourceId: string, entry: Watched): void {
    entry.timer = null;
    entry.firstPendingAt = null;
    const paths = [...entry.pending];
    entry.pending.clear();
    requestSync({ sourceId, type: "incremental", trigger: "watcher", paths }).catch((err) => {
      watcherLog(sourceId).error({ error: errorField(err) }, "local watcher: cannot queue a sync");
      for (const p of paths) entry.pending.add(p);
      entry.firstPendingAt ??= Date.now();
      if (!this.stopped && this.watched.get(sourceId) === entry && !entry.timer) {
        entry.timer = setTimeout(() => this.flush(sourceId, entry), this.options.maxDelayMs ?? 5000);
      }
    });
  }

  private unwatch(sourceId: string, entry: Watched): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.watcher.close();
    this.watched.delete(sourceId);
  }

  stop(): void {
    this.stopped = true;
    for (const interval of this.intervals) clearInterval(interval);
    for (const [id, w] of this.watched) this.unwatch(id, w);
  }
}
