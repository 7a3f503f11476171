import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources, type Source } from "@/lib/db/schema";
import { connectorForSource } from "@/lib/sync/connector-for-source";
import { GdriveConnector } from "@/lib/connectors/gdrive";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import { sealWebhookSecret } from "@/lib/oauth/provider-token";
import type { Connector, WebhookRegistration } from "@/lib/connectors/types";
import { webhookCallbackUrl } from "@/lib/webhooks/callback-url";
import { webhookTokenHash } from "@/lib/webhooks/webhook-candidates";
import { errorField, syncLogger } from "@/lib/log";
import { openDriveChannel, stopDriveChannels } from "./drive-channels";

export type SourceWebhook = { source: Source; remove(): Promise<void> };

type ProviderWebhook = {
  setup(callbackUrl: string): Promise<WebhookRegistration>;
  remove(webhookId: string): Promise<void>;
};

/**
 * How a connector's webhook is registered and removed: a git push hook by the connector alone, a
 * Drive channel through its stored row (drive-channels.ts), which Drive's first message needs.
 */
function providerWebhook(connector: Connector): ProviderWebhook | null {
  if (connector instanceof GdriveConnector) {
    return {
      setup: async (callbackUrl) => ({ webhookId: (await openDriveChannel(connector, callbackUrl)).channelId }),
      remove: () => stopDriveChannels(connector),
    };
  }
  const { setupWebhook, removeWebhook } = connector;
  if (!setupWebhook) return null;
  return {
    setup: (callbackUrl) => setupWebhook.call(connector, callbackUrl),
    remove: (webhookId) => removeWebhook?.call(connector, webhookId) ?? Promise.resolve(),
  };
}

/**
 * Registers the provider webhook (git push hook, Drive channel) when the app has a public URL,
 * and stores its id and sealed secret on the source. It runs after the source row exists
 * because a provider may call back before setup returns (Drive's first `sync` message). A
 * failure is not fatal: git sources are then polled, and Drive's renewal job opens the
 * channel later; webhookId stays null meanwhile.
 */
export async function setupSourceWebhook(source: Source, token: string | null): Promise<SourceWebhook | null> {
  const callbackUrl = webhookCallbackUrl(source.type);
  if (!callbackUrl) return null;
  const secret = randomBytes(32).toString("hex");
  const connector = getConnectorDefinition(source.type).create({
    sourceId: source.id,
    config: source.config,
    token,
    webhookSecret: secret,
  });
  const webhook = providerWebhook(connector);
  if (!webhook) return null;
  try {
    const { webhookId } = await webhook.setup(callbackUrl);
    const [updated] = await getDb()
      .update(sources)
      .set({
        webhookId,
        webhookSecret: sealWebhookSecret(source.id, secret),
        webhookTokenHash: webhookTokenHash(secret),
        updatedAt: new Date(),
      })
      .where(eq(sources.id, source.id))
      .returning();
    return { source: updated!, remove: () => webhook.remove(webhookId) };
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
    await providerWebhook(await connectorForSource(source))?.remove(source.webhookId);
  } catch (err) {
    syncLogger({ sourceId: source.id, provider: source.type }).warn(
      { error: errorField(err) },
      "could not remove the source's webhook",
    );
  }
}
