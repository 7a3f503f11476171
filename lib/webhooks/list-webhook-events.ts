import { desc, eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { webhookEvents } from "@/lib/db/schema";
import type { WebhookEventDto } from "@/lib/sources/schemas";

/** A source's latest webhook events, newest first (without the payload, which may be large). */
export async function listWebhookEvents(sourceId: string, limit = 50): Promise<WebhookEventDto[]> {
  const rows = await getDb()
    .select({
      id: webhookEvents.id,
      eventType: webhookEvents.eventType,
      deliveryId: webhookEvents.deliveryId,
      processed: webhookEvents.processed,
      processedAt: webhookEvents.processedAt,
      createdAt: webhookEvents.createdAt,
    })
    .from(webhookEvents)
    .where(eq(webhookEvents.sourceId, sourceId))
    .orderBy(desc(webhookEvents.createdAt))
    .limit(limit);
  return rows.map(({ createdAt, processedAt, ...r }) => ({
    ...r,
    processedAt: processedAt?.toISOString() ?? null,
    receivedAt: createdAt.toISOString(),
  }));
}
