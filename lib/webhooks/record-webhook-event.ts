import { randomUUID } from "node:crypto";
import { withTransaction, type SqlExecutor } from "@/lib/db/transaction";
import type { Db } from "@/lib/db/client";
import { getBoss } from "@/lib/queue/boss";
import { requestSyncsInTransaction } from "@/lib/sync/request-sync";

export type WebhookTarget = {
  sourceId: string;
  /** Paths the event names; absent: the sync asks the connector for its delta. */
  paths?: string[];
};

export type RecordedWebhook = { duplicate: boolean; eventId: string | null; jobIds: string[] };

export type WebhookEventInput = {
  sourceType: string;
  eventType: string;
  /** The provider's delivery id; null when the provider sends none (no deduplication then). */
  deliveryId: string | null;
  payload: unknown;
  targets: WebhookTarget[];
};

type Pending = { event: WebhookEventInput; resolve: (r: RecordedWebhook) => void; reject: (e: unknown) => void };

/** Events recorded in one transaction at most (a burst beyond waits for the next one). */
const MAX_BATCH = 200;
const queue: Pending[] = [];
let flushing = false;

/**
 * Records a verified provider event and queues an incremental sync of every source it
 * concerns, in one transaction: the event is never recorded without its sync, and a
 * redelivery (same provider and delivery id) queues nothing new. Resolves once committed.
 *
 * Group commit: events that arrive while a transaction is being written wait and go into the
 * next one together, so that a burst of webhooks costs one transaction per batch (one insert,
 * one lock and one look-up per source) instead of one each. Alone, an event is its own batch.
 */
export async function recordWebhookEvent(event: WebhookEventInput): Promise<RecordedWebhook> {
  // Start the queue outside any transaction (see requestSyncInTransaction).
  await getBoss();
  return new Promise((resolve, reject) => {
    queue.push({ event, resolve, reject });
    if (!flushing) void flush();
  });
}

async function flush(): Promise<void> {
  flushing = true;
  try {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const results = await withTransaction((tx, executor) =>
          recordBatch(
            tx,
            executor,
            batch.map((p) => p.event),
          ),
        );
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        // One event that cannot be recorded (its source deleted meanwhile) must not fail the
        // others of its batch: each alone then, with its own answer.
        for (const p of batch) {
          await withTransaction((tx, executor) => recordBatch(tx, executor, [p.event])).then(
            (r) => p.resolve(r[0]!),
            p.reject,
          );
        }
      }
    }
  } finally {
    flushing = false;
  }
}

async function recordBatch(tx: Db, executor: SqlExecutor, events: WebhookEventInput[]): Promise<RecordedWebhook[]> {
  const ids = events.map(() => randomUUID());
  const inserted = await executor.executeSql(
    `insert into webhook_events (id, source_type, event_type, delivery_id, source_id, payload, processed, processed_at)
     select id, source_type, event_type, delivery_id, source_id, payload, processed, case when processed then now() end
     from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::jsonb[], $7::boolean[])
       as t(id, source_type, event_type, delivery_id, source_id, payload, processed)
     on conflict (source_type, delivery_id) do nothing
     returning id`,
    [
      ids,
      events.map((e) => e.sourceType),
      events.map((e) => e.eventType),
      events.map((e) => e.deliveryId),
      events.map((e) => e.targets[0]?.sourceId ?? null),
      events.map((e) => JSON.stringify(e.payload ?? {})),
      events.map((e) => e.targets.length > 0),
    ],
  );
  const fresh = new Set((inserted.rows as { id: string }[]).map((r) => r.id));
  // One sync request per source for the whole batch (requestSyncsInTransaction takes the
  // sources' locks in a fixed order: no deadlock between two batches).
  const bySource = new Map<string, { paths: string[] | undefined; whole: boolean }>();
  events.forEach((e, i) => {
    if (!fresh.has(ids[i]!)) return;
    for (const t of e.targets) {
      const merged = bySource.get(t.sourceId) ?? { paths: [], whole: false };
      if (!t.paths?.length) merged.whole = true;
      else merged.paths!.push(...t.paths);
      bySource.set(t.sourceId, merged);
    }
  });
  const requested = [...bySource].map(([sourceId, { paths, whole }]) => ({
    sourceId,
    type: "incremental" as const,
    trigger: "webhook" as const,
    paths: whole ? undefined : [...new Set(paths)],
  }));
  const answers = await requestSyncsInTransaction(tx, executor, requested);
  const jobBySource = new Map(requested.map((r, i) => [r.sourceId, answers[i]!.jobId]));
  return events.map((e, i) =>
    fresh.has(ids[i]!)
      ? { duplicate: false, eventId: ids[i]!, jobIds: e.targets.map((t) => jobBySource.get(t.sourceId)!) }
      : { duplicate: true, eventId: null, jobIds: [] },
  );
}
