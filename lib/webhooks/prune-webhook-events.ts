import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";

/** Rows deleted per statement, so that pruning a large backlog never holds long locks. */
const PRUNE_BATCH = 10_000;

/** Days recorded webhook events are kept (WEBHOOK_EVENTS_RETENTION_DAYS, default 30). */
export function webhookEventRetentionDays(): number {
  const days = Number(process.env.WEBHOOK_EVENTS_RETENTION_DAYS ?? 30);
  if (!Number.isFinite(days) || days < 1) {
    throw new Error(
      `WEBHOOK_EVENTS_RETENTION_DAYS must be a number of days of at least 1 (got "${process.env.WEBHOOK_EVENTS_RETENTION_DAYS}").`,
    );
  }
  return days;
}

/**
 * Deletes webhook events recorded more than `days` ago, oldest first, a batch at a time; returns
 * how many went. Every event stores its provider payload, so without this the table grows with
 * every push. A provider's redelivery comes within hours, so a month keeps deduplication whole.
 */
export async function pruneWebhookEvents(days = webhookEventRetentionDays()): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await getDb().execute(
      sql`delete from webhook_events where id in (
            select id from webhook_events where created_at < now() - make_interval(days => ${Math.floor(days)}::int)
            order by created_at limit ${PRUNE_BATCH})`,
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < PRUNE_BATCH) return total;
  }
}
