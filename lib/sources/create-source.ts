import { randomBytes, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { Db } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import { sealProviderToken, sealWebhookSecret } from "@/lib/connectors/provider-token";
import { requestSync } from "@/lib/sync/request-sync";
import { webhookCallbackUrl } from "@/lib/webhooks/callback-url";
import type { CreateSourceBody } from "./schemas";
import { toSourceDto } from "./serialize";
import { checkSourceConfig } from "./validate-config";

type Webhook = { webhookId: string; sealedSecret: string; remove(): Promise<void> };

/**
 * Registers the provider webhook when the app has a public URL. A token without the right to
 * manage webhooks is not fatal: the source is then polled, and webhookId stays null.
 */
async function setupWebhook(type: string, id: string, config: Record<string, unknown>, token: string | null): Promise<Webhook | null> {
  const callbackUrl = webhookCallbackUrl(type);
  if (!callbackUrl) return null;
  const secret = randomBytes(32).toString("hex");
  const connector = getConnectorDefinition(type).create({ sourceId: id, config, token, webhookSecret: secret });
  if (!connector.setupWebhook) return null;
  try {
    const { webhookId } = await connector.setupWebhook(callbackUrl);
    return { webhookId, sealedSecret: sealWebhookSecret(id, secret), remove: () => connector.removeWebhook?.(webhookId) ?? Promise.resolve() };
  } catch (err) {
    console.warn(`[sources] could not register a ${type} webhook for source ${id}; it will be polled instead: ${(err as Error).message}`);
    return null;
  }
}

/** Connects a source: validate against the provider, register its webhook, store it, queue its first full sync. */
export async function createSource(db: Db, actor: Actor, body: CreateSourceBody) {
  const definition = getConnectorDefinition(body.type);
  const { config, token } = await checkSourceConfig(body.type, { ...definition.configFromName?.(body.name), ...body.config });
  const id = randomUUID();
  const webhook = await setupWebhook(body.type, id, config, token);
  try {
    const [source] = await db
      .insert(sources)
      .values({
        id,
        type: body.type,
        name: body.name,
        config,
        userId: actor.userId,
        tokenSecret: token ? sealProviderToken(id, token) : null,
        webhookId: webhook?.webhookId ?? null,
        webhookSecret: webhook?.sealedSecret ?? null,
      })
      .returning();
    try {
      const { job } = await requestSync({ sourceId: id, type: "full", trigger: "create" });
      return { source: toSourceDto(source!), jobId: job.id };
    } catch (err) {
      await db.delete(sources).where(eq(sources.id, id));
      throw err;
    }
  } catch (err) {
    await webhook?.remove().catch(() => {});
    throw err;
  }
}
