import { and, eq, inArray, isNotNull, isNull, or } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { connectorForSource } from "@/lib/connectors/connector-for-source";
import { ConnectorAuthError, ConnectorError } from "@/lib/connectors/errors";
import { WEBHOOK_PROVIDERS } from "@/lib/webhooks/callback-url";
import { requestSync } from "./request-sync";

/**
 * Types polled when no push reaches the app: git hosts and Drive without a registered webhook
 * or channel; Dropbox (whose webhook is the app's, set in its console) unless the app has a
 * public URL and the secret that verifies Dropbox's notifications.
 */
function polledTypes(): string[] {
  const dropboxPushes = Boolean(process.env.APP_URL?.trim() && process.env.DROPBOX_APP_SECRET);
  return [...WEBHOOK_PROVIDERS, "gdrive", ...(dropboxPushes ? [] : ["dropbox"])];
}

/**
 * Sources the provider cannot call back are polled, cheaply: one request each (a conditional
 * ref lookup on git hosts, one page of the change feed on Drive and Dropbox), and an
 * incremental sync only when something changed. Sources still waiting for their first sync,
 * or needing a new token, are left alone.
 */
export async function pollSources(): Promise<{ checked: number; queued: number }> {
  const rows = await getDb()
    .select()
    .from(sources)
    .where(
      and(
        inArray(sources.type, polledTypes()),
        or(isNull(sources.webhookId), inArray(sources.type, ["dropbox"])),
        // Synced at least once; an empty repository has no cursor yet and is polled all the same.
        isNotNull(sources.lastSyncAt),
        inArray(sources.status, ["synced", "error"]),
      ),
    );
  let queued = 0;
  for (const source of rows) {
    try {
      const connector = await connectorForSource(source);
      const changed =
        connector.hasChanges && source.cursor
          ? await connector.hasChanges(source.cursor)
          : await connector.currentCursor().then((head) => head !== null && head !== source.cursor);
      const moved = connector.movedConfig?.();
      if (moved) {
        await getDb()
          .update(sources)
          .set({ config: { ...source.config, ...moved }, updatedAt: new Date() })
          .where(eq(sources.id, source.id));
      }
      if (changed) {
        await requestSync({ sourceId: source.id, type: "incremental", trigger: "schedule" });
        queued++;
      }
    } catch (err) {
      // One source's failure (of any kind) never stops the others' polls.
      const reason = err instanceof ConnectorError ? err.message : `${(err as Error).name ?? "Error"}`;
      console.warn(`[poll] source ${source.id}: ${reason}`);
      if (err instanceof ConnectorError && !err.retryable) await recordPollFailure(source.id, err);
    }
  }
  return { checked: rows.length, queued };
}

/**
 * A poll that cannot work until someone acts (a revoked token, a repository or branch gone)
 * shows on the source: needs_reauth for credentials, error otherwise, with the error's message
 * as what to do. Transient failures (network, 5xx, rate limits) leave the status be: the next
 * poll retries.
 */
async function recordPollFailure(sourceId: string, err: ConnectorError): Promise<void> {
  const status = err instanceof ConnectorAuthError ? "needs_reauth" : "error";
  await getDb()
    .update(sources)
    .set({ status, statusDetail: err.message, updatedAt: new Date() })
    .where(eq(sources.id, sourceId));
}
