import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { eq, inArray, sql } from "drizzle-orm";
import { files, sources, syncJobs } from "@/lib/db/schema";
import { idempotencyKey } from "@/lib/pipeline/deliver";
import type { startPipelineFake } from "./fakes/pipeline-server";
import { db, waitFor, writeTree } from "./helpers";

export const sha256 = (content: Buffer | string) => createHash("sha256").update(content).digest("hex");

/** `count` small text files under `folder` (several folders, varied sizes); returns their contents. */
export function writeCorpus(folder: string, count: number, seed = ""): Record<string, string> {
  const tree: Record<string, string> = {};
  for (let i = 0; i < count; i++)
    tree[`pkg${i % 12}/file${i}.ts`] = `export const value${i} = "${seed}${i}";\n`.repeat(1 + (i % 9));
  writeTree(folder, tree);
  return tree;
}

/** Every file under `folder`, as path → SHA-256 (what an exact index of a local source holds). */
export function folderIndex(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(path.relative(folder, full).split(path.sep).join("/"), sha256(readFileSync(full)));
  }
  return out;
}

/** The index of a source equals `expected` (path → SHA-256), no row more, no row less. */
export async function assertIndexEquals(
  sourceId: string,
  expected: Map<string, string>,
  what = "the index",
): Promise<void> {
  const rows = await db().select({ path: files.path, sha: files.sha }).from(files).where(eq(files.sourceId, sourceId));
  const actual = new Map(rows.map((r) => [r.path, r.sha]));
  const missing = [...expected.keys()].filter((p) => actual.get(p) !== expected.get(p));
  const extra = [...actual.keys()].filter((p) => !expected.has(p));
  assert.deepEqual(
    { missing: missing.slice(0, 10), extra: extra.slice(0, 10) },
    { missing: [], extra: [] },
    `${what} equals the source`,
  );
  assert.equal(actual.size, expected.size);
  const [counted] = await db().select({ fileCount: sources.fileCount }).from(sources).where(eq(sources.id, sourceId));
  assert.equal(counted?.fileCount, expected.size, `${what}: the source's fileCount matches its files`);
}

/**
 * Against the pipeline fake: every key in `required` (the final version of each file) was
 * applied at the last stage, and nothing outside `allowed` (defaults to `required`; add the
 * versions a file had while a sync ran) was. Returns how many requests repeated an applied
 * key (at-least-once redeliveries a consumer ignores).
 */
export function assertDeliveredExactly(
  fake: Awaited<ReturnType<typeof startPipelineFake>>,
  required: Set<string>,
  allowed: Set<string> = required,
): { repeats: number; applied: number } {
  const ledger = fake.ledger("/store");
  const appliedKeys = new Set(fake.delivered("/store").map((r) => r.key));
  const missing = [...required].filter((k) => !appliedKeys.has(k));
  const extra = [...appliedKeys].filter((k) => !allowed.has(k) && !required.has(k));
  assert.deepEqual(
    { missing: missing.length, extra: extra.length },
    { missing: 0, extra: 0 },
    "every file version delivered, nothing else",
  );
  return { repeats: ledger.repeats, applied: ledger.applied };
}

export function expectedKeys(sourceId: string, index: Map<string, string>): string[] {
  return [...index].map(([p, sha]) => idempotencyKey(sourceId, p, sha));
}

/** Waits until no sync of these sources is queued or running; returns their jobs. */
export async function waitForIdle(sourceIds: string[], timeoutMs = 120_000) {
  return waitFor(
    async () => {
      const rows = await db().select().from(syncJobs).where(inArray(syncJobs.sourceId, sourceIds));
      return rows.length > 0 && rows.every((r) => ["completed", "failed", "cancelled"].includes(r.status))
        ? rows
        : null;
    },
    { timeoutMs, intervalMs: 100, what: "every sync to finish" },
  );
}

/** Intervals during which pg-boss ran a sync-source job, per source (its singleton key). */
export async function syncRunIntervals(): Promise<Map<string, { start: number; end: number }[]>> {
  const rows = await db().execute<{ key: string; started: Date; completed: Date | null; state: string }>(
    sql`select singleton_key as key, started_on as started, completed_on as completed, state from pgboss.job where name = 'sync-source' and started_on is not null`,
  );
  const out = new Map<string, { start: number; end: number }[]>();
  for (const r of rows.rows) {
    const list = out.get(r.key) ?? [];
    list.push({
      start: new Date(r.started).getTime(),
      end: r.completed ? new Date(r.completed).getTime() : Number.POSITIVE_INFINITY,
    });
    out.set(r.key, list);
  }
  return out;
}

/** Pairs of intervals that overlap; an empty list proves they ran one after the other. */
export function overlaps(intervals: { start: number; end: number; label?: string }[]): string[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const found: string[] = [];
  let latest = sorted[0];
  for (const next of sorted.slice(1)) {
    if (next.start < latest!.end)
      found.push(
        `${latest!.label ?? "?"} [${latest!.start}, ${latest!.end}] overlaps ${next.label ?? "?"} [${next.start}, ${next.end}]`,
      );
    if (next.end > latest!.end) latest = next;
  }
  return found;
}
