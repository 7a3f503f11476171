import { eq, sql } from "drizzle-orm";
import { getDb, type Db } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { StaleAttemptError } from "./attempt-errors";

/** Starts a new fencing generation for a source: every earlier attempt becomes stale. */
export async function bumpFence(sourceId: string): Promise<number | null> {
  const [row] = await getDb()
    .update(sources)
    .set({ fence: sql`${sources.fence} + 1` })
    .where(eq(sources.id, sourceId))
    .returning({ fence: sources.fence });
  return row?.fence ?? null;
}

/**
 * Inside a write transaction: throws StaleAttemptError unless `fence` is still the source's.
 * The row is locked (as the file-count triggers lock it anyway), so a bump waits for this
 * transaction and the writes of a stale attempt never commit after a newer attempt started.
 * Lock order: the job's row (addProgress) first, then the source's. Returns the source's owner.
 */
export async function assertFence(tx: Db, sourceId: string, fence: number): Promise<{ ownerId: string | null }> {
  const result = await tx.execute<{ fence: number; owner_id: string | null }>(
    sql`select ${sources.fence} as fence, ${sources.userId} as owner_id from ${sources} where ${sources.id} = ${sourceId} for no key update`,
  );
  const row = result.rows[0];
  if (row === undefined || Number(row.fence) !== fence) throw new StaleAttemptError();
  return { ownerId: row.owner_id };
}

/** Whether `fence` is still the source's (no lock: checked before each request downstream). */
export async function isCurrentFence(sourceId: string, fence: number): Promise<boolean> {
  const [row] = await getDb().select({ fence: sources.fence }).from(sources).where(eq(sources.id, sourceId));
  return row !== undefined && row.fence === fence;
}
