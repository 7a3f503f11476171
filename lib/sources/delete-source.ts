import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import { changes, sources, syncJobs } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { createPipeline } from "@/lib/pipeline/deliver";
import { getBoss } from "@/lib/queue/boss";
import { QUEUES } from "@/lib/queue/names";
import { getSourceOrThrow } from "./get-source-or-throw";
import { removeSourceWebhook } from "./source-webhook";

/**
 * Removes a source, its webhook and its files. Its syncs are cancelled and fenced off first
 * (the source row is locked: a running attempt's writes wait, then find no source and stop),
 * then a deletion of every path ever sent downstream is appended to the outbox in the same
 * transaction and delivered by the send-to-pipeline job, so a consumer downstream never keeps
 * a file the index no longer has.
 */
export async function deleteSource(actor: Actor, id: string): Promise<void> {
  const source = await getSourceOrThrow(actor, id);
  await removeSourceWebhook(source);
  const pipeline = createPipeline();
  const boss = await getBoss();
  await withTransaction(async (tx, executor) => {
    // Jobs first, then the source: the order in which sync transactions lock them.
    await tx
      .update(syncJobs)
      .set({ status: "cancelled", completedAt: new Date(), detail: null })
      .where(and(eq(syncJobs.sourceId, id), inArray(syncJobs.status, ["queued", "running"])));
    await tx
      .update(sources)
      .set({ fence: sql`${sources.fence} + 1` })
      .where(eq(sources.id, id));
    const [{ last }] = (
      await tx.execute<{ last: number }>(
        sql`select coalesce(max(seq), 0)::bigint as last from ${changes} where source_id = ${id}`,
      )
    ).rows as [{ last: number }];
    // What was never sent needs no deletion; what may have been sent (delivered, or pending
    // with a delivery perhaps in flight) does, as does every indexed file.
    await tx.execute(sql`
      with latest as (
        select distinct on (path) path, op, sha, status from ${changes} where source_id = ${id} order by path, seq desc
      ), targets as (
        select path, sha from files where source_id = ${id}
        union
        select path, sha from latest
        where not (op = 'delete' and status = 'delivered') and (op = 'upsert' or status = 'pending')
      )
      insert into ${changes} (source_id, owner_id, op, path, sha, status, delivered_at)
      select distinct on (path) ${id}::uuid, ${source.userId}::uuid, 'delete', path, sha,
        ${pipeline.embedded ? "delivered" : "pending"}, ${pipeline.embedded ? sql`now()` : sql`null`}
      from targets order by path`);
    await tx
      .update(changes)
      .set({ status: "superseded" })
      .where(and(eq(changes.sourceId, id), eq(changes.status, "pending"), lte(changes.seq, Number(last))));
    await tx.delete(sources).where(eq(sources.id, id));
    if (!pipeline.embedded) await boss.send(QUEUES.sendToPipeline, { sourceId: id }, { db: executor });
  });
}
