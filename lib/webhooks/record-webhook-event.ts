import { randomUUID } from "node:crypto";
import { withTransaction, type SqlExecutor } from "@/lib/db/transaction";
import type { Db } from "@/lib/db/client";
import { getBoss } from "@/lib/queue/boss";
import { requestSyncsInTransaction } from "@/lib/queue/request-sync";

export type WebhookTarget = {
  sourceId: string;
  /** Paths the event names; absent: the sync asks the connector for its delta. */
  paths?: string[];
};

export type RecordedWebhook = { duplicate: boolean; eventId: string | null; jobIds: string[] };

export type WebhookEventInput = {
  sourceType: string;
  eventType: string;
  /** The provider's delivery id; null when the provider sends none (no deduplication by it then). */
  deliveryId: string | null;
  /** The source the event came from (verified); absent: the first target's. */
  sourceId?: string | null;
  /**
   * SHA-256 of the raw body (git deliveries): the same body from the same source within
   * REPLAY_WINDOW is a duplicate whatever its delivery id. Absent for Drive and Dropbox
   * notifications, whose bodies repeat by design.
   */
  bodyHash?: string | null;
  payload: unknown;
  targets: WebhookTarget[];
};

/** How long a git delivery's body hash deduplicates a replay of it. */
const REPLAY_WINDOW = "24 hours";

type Pending = { event: WebhookEventInput; resolve: (r: RecordedWebhook) => void; reject: (e: unknown) => void };

/** Events recorded in one transaction at most (a burst beyond waits for the next one). */
const MAX_BATCH = 200;
const queue: Pending[] = [];
let flushing = false;

/**
 * Records a verified provider event and queues an incremental sync of every source it
 * concerns, in one transaction: the event is never recorded without its sync, and a
 * redelivery (same provider and delivery id, or a git body the source sent within a day)
 * queues nothing new. Resolves once committed.
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

/** Which events replay a body their source sent within REPLAY_WINDOW (or earlier in this batch). */
async function replays(executor: SqlExecutor, events: WebhookEventInput[]): Promise<boolean[]> {
  const keyOf = (e: WebhookEventInput) => {
    const sourceId = e.sourceId ?? e.targets[0]?.sourceId;
    return e.bodyHash && sourceId ? { sourceId, bodyHash: e.bodyHash } : null;
  };
  const keys = events.map(keyOf);
  const hashed = keys.filter((k) => k !== null);
  if (hashed.length === 0) return events.map(() => false);
  // Locked in a fixed order until commit: two batches with the same body cannot both miss the other.
  const lockKeys = [...new Set(hashed.map((k) => `${k.sourceId}:${k.bodyHash}`))].sort();
  await executor.executeSql(
    `select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest($1::text[]) with ordinality as t(k, n) order by n`,
    [lockKeys],
  );
  const seen = await executor.executeSql(
    `select w.source_id, w.body_hash from webhook_events w
     join unnest($1::uuid[], $2::text[]) as t(source_id, body_hash)
       on w.source_id = t.source_id and w.body_hash = t.body_hash
     where w.created_at > now() - interval '${REPLAY_WINDOW}'`,
    [hashed.map((k) => k.sourceId), hashed.map((k) => k.bodyHash)],
  );
  const known = new Set(
    (seen.rows as { source_id: string; body_hash: string }[]).map((r) => `${r.source_id}:${r.body_hash}`),
  );
  return keys.map((k) => {
    if (!k) return false;
    const key = `${k.sourceId}:${k.bodyHash}`;
    if (known.has(key)) return true;
    known.add(key);
    return false;
  });
}

async function recordBatch(tx: Db, executor: SqlExecutor, all: WebhookEventInput[]): Promise<RecordedWebhook[]> {
  const replayed = await replays(executor, all);
  const events = all.filter((_, i) => !replayed[i]);
  const ids = events.map(() => randomUUID());
  const inserted = await executor.executeSql(
    `insert into webhook_events (id, source_type, event_type, delivery_id, source_id, body_hash, payload, processed, processed_at)
     select id, source_type, event_type, delivery_id, source_id, body_hash, payload, processed, case when processed then now() end
     from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::jsonb[], $8::boolean[])
       as t(id, source_type, event_type, delivery_id, source_id, body_hash, payload, processed)
     on conflict (source_type, delivery_id) do nothing
     returning id`,
    [
      ids,
      events.map((e) => e.sourceType),
      events.map((e) => e.eventType),
      events.map((e) => e.deliveryId),
      events.map((e) => e.sourceId ?? e.targets[0]?.sourceId ?? null),
      events.map((e) => e.bodyHash ?? null),
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
  const results = events.map((e, i) =>
    fresh.has(ids[i]!)
      ? { duplicate: false, eventId: ids[i]!, jobIds: e.targets.map((t) => jobBySource.get(t.sourceId)!) }
      : { duplicate: true, eventId: null, jobIds: [] },
  );
  return all.map((_, i) => (replayed[i] ? { duplicate: true, eventId: null, jobIds: [] } : results.shift()!));
}
