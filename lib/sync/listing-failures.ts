import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { syncJobFailures } from "@/lib/db/schema";
import type { Connector } from "@/lib/connectors/types";
import type { IndexedFile } from "./file-processor";
import { SyncCancelledError } from "@/lib/changes/attempt-errors";
import { addProgress } from "./progress";

/**
 * Records what the connector could not read as failed paths of the job, and takes every indexed
 * file at or under those paths out of `existing`, so that the sync keeps them instead of
 * deleting them as vanished.
 */
export async function keepUnreadable(
  jobId: string,
  connector: Connector,
  existing: Map<string, IndexedFile>,
): Promise<void> {
  const failures = connector.takeListingFailures?.() ?? [];
  if (failures.length === 0) return;
  for (const p of [...existing.keys()]) {
    if (failures.some((f) => p === f.path || p.startsWith(`${f.path}/`))) existing.delete(p);
  }
  const db = getDb();
  const inserted = await db
    .insert(syncJobFailures)
    .values(failures.map((f) => ({ jobId, path: f.path, error: f.error })))
    .onConflictDoUpdate({ target: [syncJobFailures.jobId, syncJobFailures.path], set: { error: sql`excluded.error` } })
    .returning({ path: syncJobFailures.path });
  if (!(await addProgress(db, jobId, { failed: inserted.length }))) throw new SyncCancelledError();
}
