import { sql } from "drizzle-orm";
import { webhookEvents } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { getBoss } from "@/lib/queue/boss";
import { requestSyncInTransaction } from "@/lib/sync/request-sync";

export type WebhookTarget = {
  sourceId: string;
  /** Paths the event names; absent: the sync asks the connector for its delta. */
  paths?: string[];
};

export type RecordedWebhook = { duplicate: boolean; eventId: string | null; jobIds: string[] };

/**
 * Records a verified provider event and queues an incremental sync of every source it
 * concerns, in one transaction: the event is never recorded without its sync, and a
 * redelivery (same provider and delivery id) queues nothing new.
 */
export async function recordWebhookEvent(event: {
  sourceType: string;
  eventType: string;
  /** The provider's delivery id; null when the provider sends none (no deduplication then). */
  deliveryId: string | null;
  payload: unknown;
  targets: WebhookTarget[];
}): Promise<RecordedWebhook> {
  await getBoss();
  return withTransaction(async (tx, executor) => {
    const [row] = await tx
      .insert(webhookEvents)
      .values({
        sourceType: event.sourceType,
        eventType: event.eventType,
        deliveryId: event.deliveryId,
        sourceId: event.targets[0]?.sourceId ?? null,
        payload: event.payload ?? {},
        processed: event.targets.length > 0,
        processedAt: event.targets.length > 0 ? sql`now()` : null,
      })
      .onConflictDoNothing({ target: [webhookEvents.sourceType, webhookEvents.deliveryId] })
      .returning({ id: webhookEvents.id });
    if (!row) return { duplicate: true, eventId: null, jobIds: [] };
    const jobIds: string[] = [];
    for (const target of event.targets) {
      const { job } = await requestSyncInTransaction(tx, executor, {
        sourceId: target.sourceId,
        type: "incremental",
        trigger: "webhook",
        paths: target.paths,
      });
      jobIds.push(job.id);
    }
    return { duplicate: false, eventId: row.id, jobIds };
  });
}
