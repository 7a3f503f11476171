import { and, asc, eq, gt, lt, max, sql, type SQL } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { changes, changesPruned, sources } from "@/lib/db/schema";
import { waitForChange } from "./changes-listener";
import { decodeFeedCursor, encodeFeedCursor, type FeedPosition } from "./feed-cursor";
import type { ChangeDto, ChangesQuery } from "./schemas";

/** Whose changes a reader sees: admins and operator tokens every source's, members their own; optionally one source's. */
export type FeedScope = { actor: Actor; sourceId?: string };

const NOBODY = "00000000-0000-0000-0000-000000000000";

function ownerFilter(actor: Actor, column: typeof changes.ownerId | typeof changesPruned.ownerId): SQL | undefined {
  return actor.role === "admin" ? undefined : eq(column, actor.userId ?? NOBODY);
}

/**
 * The smallest `seq` a transaction still in progress may commit (see the migration that
 * defines changes_feed_horizon): rows below it are final, so a page never skips one that
 * commits later. Asked in its own statement, before the page is read with a newer snapshot.
 */
async function feedHorizon(): Promise<number> {
  const result = await getDb().execute<{ horizon: string | number }>(sql`select changes_feed_horizon() as horizon`);
  return Number(result.rows[0]!.horizon);
}

async function readPage(scope: FeedScope, after: number, limit: number): Promise<ChangeDto[]> {
  const horizon = await feedHorizon();
  const rows = await getDb()
    .select({
      seq: changes.seq,
      sourceId: changes.sourceId,
      op: changes.op,
      path: changes.path,
      sha: changes.sha,
      size: changes.size,
      language: changes.language,
      at: changes.at,
    })
    .from(changes)
    .where(
      and(
        gt(changes.seq, after),
        lt(changes.seq, horizon),
        scope.sourceId ? eq(changes.sourceId, scope.sourceId) : undefined,
        ownerFilter(scope.actor, changes.ownerId),
      ),
    )
    .orderBy(asc(changes.seq))
    .limit(limit);
  return rows.map((r) => ({ ...r, op: r.op === "delete" ? "delete" : "upsert", at: r.at.toISOString() }));
}

/** The highest `seq` of a pruned deletion this reader could see (0: none). */
async function prunedMark(scope: FeedScope): Promise<number> {
  const [row] = await getDb()
    .select({ seq: max(changesPruned.seq) })
    .from(changesPruned)
    .where(
      and(
        scope.sourceId ? eq(changesPruned.sourceId, scope.sourceId) : undefined,
        ownerFilter(scope.actor, changesPruned.ownerId),
      ),
    );
  return row?.seq === null || row?.seq === undefined ? 0 : Number(row.seq);
}

/**
 * A cursor that a prune overtook after it was given (the mark moved past the cursor's seq) has
 * missed a deletion: 410, with a cursor that starts again from the beginning (a full snapshot,
 * since the latest change of every path that exists is never pruned). The mark is read after
 * the page, so a prune that commits in between is never missed; a reader that started from
 * the beginning after a prune is not sent back (its cursors carry the mark it started with).
 */
async function assertNotOvertaken(scope: FeedScope, after: FeedPosition): Promise<void> {
  if (after.seq === 0) return;
  const mark = await prunedMark(scope);
  if (mark > after.pruned && after.seq < mark) {
    throw new AppError(
      "gone",
      "Changes after this cursor have been pruned (CHANGES_RETENTION_DAYS). Start again from the beginning with the `cursor` given here: the feed then answers the latest change of every file.",
      undefined,
      { cursor: encodeFeedCursor({ seq: 0, pruned: mark }) },
    );
  }
}

/**
 * A source's feed is readable while the source is (404 otherwise), and after its deletion by
 * whoever could see it: its change rows keep the source's owner.
 */
async function assertSourceVisible(actor: Actor, sourceId: string): Promise<void> {
  const db = getDb();
  const [source] = await db.select({ userId: sources.userId }).from(sources).where(eq(sources.id, sourceId));
  if (source && (actor.role === "admin" || (actor.userId !== null && source.userId === actor.userId))) return;
  if (!source) {
    const [row] = await db
      .select({ seq: changes.seq })
      .from(changes)
      .where(and(eq(changes.sourceId, sourceId), ownerFilter(actor, changes.ownerId)))
      .limit(1);
    if (row) return;
  }
  throw new AppError("not_found", `No source with id ${sourceId}.`);
}

/**
 * One page of the changes feed in `seq` order: at most `limit` changes after the cursor. With
 * `wait`, an empty page waits up to that many seconds for a change to arrive.
 */
export async function listChanges(
  scope: FeedScope,
  query: ChangesQuery,
  signal?: AbortSignal,
): Promise<{ changes: ChangeDto[]; cursor: string }> {
  const after = query.after ? decodeFeedCursor(query.after) : { seq: 0, pruned: 0 };
  if (scope.sourceId) await assertSourceVisible(scope.actor, scope.sourceId);
  const deadline = Date.now() + query.wait * 1000;
  for (;;) {
    // Read before the page: the cursor answered must not claim a prune the page may not reflect.
    const mark = await prunedMark(scope);
    const page = await readPage(scope, after.seq, query.limit);
    await assertNotOvertaken(scope, after);
    const remaining = deadline - Date.now();
    if (page.length > 0 || remaining <= 0 || signal?.aborted) {
      const seq = page.length > 0 ? page.at(-1)!.seq : after.seq;
      return { changes: page, cursor: encodeFeedCursor({ seq, pruned: Math.max(mark, after.pruned) }) };
    }
    await waitForChange(remaining, signal);
  }
}
