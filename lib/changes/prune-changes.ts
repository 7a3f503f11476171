import { withTransaction } from "@/lib/db/transaction";

const DEFAULT_RETENTION_DAYS = 30;
const BATCH = 5_000;

/** CHANGES_RETENTION_DAYS: how long superseded changes and deletions stay in the feed (default 30). */
export function changesRetentionDays(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CHANGES_RETENTION_DAYS;
  const days = raw === undefined || raw.trim() === "" ? NaN : Number(raw);
  return Number.isFinite(days) && days >= 0 ? days : DEFAULT_RETENTION_DAYS;
}

/**
 * Compacts the feed without losing state: removes changes older than the retention that are
 * settled downstream (delivered, superseded or refused) and either superseded by a later change
 * of the same path, or deletions that were delivered. The latest change of every path that
 * exists is never removed, so reading the feed from the beginning still ends with the index.
 * Removing a path's latest deletion raises the source's mark in `changes_pruned`: a cursor
 * below it missed that deletion (410). Returns how many changes were removed.
 */
export async function pruneChanges(retentionDays = changesRetentionDays(), now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  let total = 0;
  for (;;) {
    const removed = await withTransaction(async (_tx, _executor, client) => {
      const doomed = await client.query<{ source_id: string; owner_id: string | null; seq: string; marks: boolean }>(
        `delete from changes c using (
           select c.seq,
             not exists (select 1 from changes l where l.source_id = c.source_id and l.path = c.path and l.seq > c.seq) as latest
           from changes c
           where c.at < $1 and c.status in ('delivered', 'superseded', 'failed')
             and ((c.op = 'delete' and c.status = 'delivered')
               or exists (select 1 from changes l where l.source_id = c.source_id and l.path = c.path and l.seq > c.seq))
           order by c.seq
           limit $2
           for update of c skip locked
         ) d
         where c.seq = d.seq
         returning c.source_id, c.owner_id, c.seq, (d.latest and c.op = 'delete') as marks`,
        [cutoff, BATCH],
      );
      const marks = new Map<string, { ownerId: string | null; seq: number }>();
      for (const row of doomed.rows) {
        if (!row.marks) continue;
        const seq = Number(row.seq);
        const seen = marks.get(row.source_id);
        if (!seen || seen.seq < seq) marks.set(row.source_id, { ownerId: row.owner_id, seq });
      }
      if (marks.size > 0) {
        await client.query(
          `insert into changes_pruned (source_id, owner_id, seq)
           select * from unnest($1::uuid[], $2::uuid[], $3::bigint[])
           on conflict (source_id) do update set seq = greatest(changes_pruned.seq, excluded.seq)`,
          [[...marks.keys()], [...marks.values()].map((m) => m.ownerId), [...marks.values()].map((m) => m.seq)],
        );
      }
      return doomed.rowCount ?? 0;
    });
    total += removed;
    if (removed < BATCH) return total;
  }
}
