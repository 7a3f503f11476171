import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { resolveLocalRoot } from "@/lib/connectors/local";
import { DEFAULT_EXCLUDED_DIRS } from "./filters";
import { requestSync } from "./request-sync";

const EXCLUDED = new Set(DEFAULT_EXCLUDED_DIRS);

type Watched = { folder: string; watcher: FSWatcher; pending: Set<string>; timer: NodeJS.Timeout | null };

/**
 * The local connector's "webhook": a recursive filesystem watcher per local source that
 * queues one incremental sync naming the changed paths, after the changes settle.
 */
export class LocalWatcher {
  private readonly watched = new Map<string, Watched>();
  private interval: NodeJS.Timeout | null = null;

  constructor(private readonly options: { debounceMs?: number; refreshMs?: number } = {}) {}

  async start(): Promise<void> {
    await this.refresh();
    this.interval = setInterval(() => {
      this.refresh().catch((err) => console.error("[watcher] refresh failed:", (err as Error).message));
    }, this.options.refreshMs ?? 3000);
  }

  /** Watches every local source and stops watching removed ones. */
  async refresh(): Promise<void> {
    const rows = await getDb()
      .select({ id: sources.id, config: sources.config })
      .from(sources)
      .where(eq(sources.type, "local"));
    const ids = new Set(rows.map((r) => r.id));
    for (const [id, w] of this.watched) {
      if (!ids.has(id)) this.unwatch(id, w);
    }
    for (const row of rows) {
      const folder = String(row.config.path ?? "");
      const current = this.watched.get(row.id);
      if (current?.folder === folder) continue;
      if (current) this.unwatch(row.id, current);
      await this.watchSource(row.id, folder).catch((err) =>
        console.error(`[watcher] cannot watch source ${row.id}:`, (err as Error).message),
      );
    }
  }

  private async watchSource(sourceId: string, folder: string): Promise<void> {
    const root = await resolveLocalRoot(folder);
    const entry: Watched = { folder, watcher: watch(root, { recursive: true }), pending: new Set(), timer: null };
    entry.watcher.on("change", (_event, filename) => {
      if (!filename) return;
      const rel = String(filename).split(path.sep).join("/");
      if (rel.split("/").some((segment) => EXCLUDED.has(segment))) return;
      entry.pending.add(rel);
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = setTimeout(() => this.flush(sourceId, entry), this.options.debounceMs ?? 300);
    });
    entry.watcher.on("error", (err) => console.error(`[watcher] source ${sourceId}:`, err.message));
    this.watched.set(sourceId, entry);
  }

  private flush(sourceId: string, entry: Watched): void {
    entry.timer = null;
    const paths = [...entry.pending];
    entry.pending.clear();
    requestSync({ sourceId, type: "incremental", trigger: "watcher", paths }).catch((err) => {
      console.error(`[watcher] cannot queue a sync for source ${sourceId}:`, (err as Error).message);
      for (const p of paths) entry.pending.add(p);
    });
  }

  private unwatch(sourceId: string, entry: Watched): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.watcher.close();
    this.watched.delete(sourceId);
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    for (const [id, w] of this.watched) this.unwatch(id, w);
  }
}
