import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "@/lib/db/client";
import { sources, type Source } from "@/lib/db/schema";
import { connectorForSource } from "@/lib/connectors/connector-for-source";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import { sealWebhookSecret } from "@/lib/connectors/provider-token";
import { webhookCallbackUrl } from "@/lib/webhooks/callback-url";
import { webhookTokenHash } from "@/lib/webhooks/webhook-candidates";
import { errorField, syncLogger } from "@/lib/log";

export type SourceWebhook = { source: Source; remove(): Promise<void> };

/**
 * Registers the provider webhook (git push hook, Drive channel) when the app has a public URL,
 * and stores its id and sealed secret on the source. It runs after the source row exists
 * because a provider may call back before setup returns (Drive's first `sync` message). A
 * failure is not fatal: git sources are then polled, and Drive's renewal job opens the
 * channel later; webhookId stays null meanwhile.
 */
export async function setupSourceWebhook(db: Db, source: Source, token: string | null): Promise<SourceWebhook | null> {
  const callbackUrl = webhookCallbackUrl(source.type);
  if (!callbackUrl) return null;
  const secret = randomBytes(32).toString("hex");
  const connector = getConnectorDefinition(source.type).create({
    sourceId: source.id,
    config: source.config,
    token,
    webhookSecret: secret,
  });
  if (!connector.setupWebhook) return null;
  try {
    const { webhookId } = await connector.setupWebhook(callbackUrl);
    const [updated] = await db
      .update(sources)
      .set({
        webhookId,
        webhookSecret: sealWebhookSecret(source.id, secret),
        webhookTokenHash: webhookTokenHash(secret),
        updatedAt: new Date(),
      })
      .where(eq(sources.id, source.id))
      .returning();
    return { source: updated!, remove: () => connector.removeWebhook?.(webhookId) ?? Promise.resolve() };
  } catch (err) {
    syncLogger({ sourceId: source.id, provider: source.type }).warn(
      { error: errorField(err) },
      "could not register the source's webhook: it is polled or retried on schedule",
    );
    return null;
  }
}

/**
 * Removes a source's webhook at the provider, as the source is stored (its config and token).
 * A provider that cannot be reached (or a revoked token) must not block what the caller does:
 * a hook left behind only reaches a route that answers 401 to hooks no source owns.
 */
export async function removeSourceWebhook(source: Source): Promise<void> {
  if (!source.webhookId) return;
  try {
    const connector = await connectorForSource(source);
    await connector.removeWebhook?.(source.webhookId);
  } catch (err) {
    syncLogger({ sourceId: source.id, provider: source.type }).warn(
      { error: errorField(err) },
      "could not remove the source's webhook",
    );
  }
}
