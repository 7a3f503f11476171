import { and, inArray, isNotNull, isNull } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { connectorForSource } from "@/lib/connectors/connector-for-source";
import { ConnectorError } from "@/lib/connectors/errors";
import { WEBHOOK_PROVIDERS } from "@/lib/webhooks/callback-url";
import { requestSync } from "./request-sync";

/**
 * Sources the provider cannot call back (no webhook) are polled: one ref lookup each (a
 * conditional request where the provider supports it), and an incremental sync only when
 * the head moved. Sources still waiting for their first sync, or needing a new token, are left alone.
 */
export async function pollSources(): Promise<{ checked: number; queued: number }> {
  const rows = await getDb()
    .select()
    .from(sources)
    .where(and(inArray(sources.type, [...WEBHOOK_PROVIDERS]), isNull(sources.webhookId), isNotNull(sources.cursor), inArray(sources.status, ["synced", "error"])));
  let queued = 0;
  for (const source of rows) {
    try {
      const connector = await connectorForSource(source);
      const head = await connector.currentCursor();
      if (head && head !== source.cursor) {
        await requestSync({ sourceId: source.id, type: "incremental", trigger: "schedule" });
        queued++;
      }
    } catch (err) {
      if (!(err instanceof ConnectorError)) throw err;
      console.warn(`[poll] source ${source.id}: ${err.message}`);
    }
  }
  return { checked: rows.length, queued };
}
