import { randomBytes, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { Db } from "@/lib/db/client";
import { sources, type Source } from "@/lib/db/schema";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import { sealProviderToken, sealWebhookSecret } from "@/lib/connectors/provider-token";
import { requestSync } from "@/lib/sync/request-sync";
import { webhookCallbackUrl } from "@/lib/webhooks/callback-url";
import type { CreateSourceBody } from "./schemas";
import { toSourceDto } from "./serialize";
import { checkSourceConfig } from "./validate-config";

type Webhook = { source: Source; remove(): Promise<void> };

/**
 * Registers the provider webhook (git push hook, Drive channel) when the app has a public URL.
 * It runs after the insert because a provider may call back before setup returns (Drive's
 * first `sync` message). A failure is not fatal: git sources are then polled, and Drive's
 * renewal job opens the channel later; webhookId stays null meanwhile.
 */
async function setupWebhook(db: Db, source: Source, token: string | null): Promise<Webhook | null> {
  const callbackUrl = webhookCallbackUrl(source.type);
  if (!callbackUrl) return null;
  const secret = randomBytes(32).toString("hex");
  const connector = getConnectorDefinition(source.type).create({ sourceId: source.id, config: source.config, token, webhookSecret: secret });
  if (!connector.setupWebhook) return null;
  try {
    const { webhookId } = await connector.setupWebhook(callbackUrl);
    const [updated] = await db
      .update(sources)
      .set({ webhookId, webhookSecret: sealWebhookSecret(source.id, secret), updatedAt: new Date() })
      .where(eq(sources.id, source.id))
      .returning();
    return { source: updated!, remove: () => connector.removeWebhook?.(webhookId) ?? Promise.resolve() };
  } catch (err) {
    console.warn(`[sources] could not register a ${source.type} webhook for source ${source.id}; it is polled or retried on schedule: ${(err as Error).message}`);
    return null;
  }
}

/** Connects a source: validate against the provider, store it, register its webhook, queue its first full sync. */
export async function createSource(db: Db, actor: Actor, body: CreateSourceBody) {
  const definition = getConnectorDefinition(body.type);
  const { config, token, tokenSent, connection } = await checkSourceConfig(db, actor, body.type, { ...definition.configFromName?.(body.name), ...body.config });
  const id = randomUUID();
  const [inserted] = await db
    .insert(sources)
    .values({
      id,
      type: body.type,
      name: body.name,
      config,
      userId: actor.userId,
      tokenSecret: tokenSent && token ? sealProviderToken(id, token) : null,
      accountId: connection.accountId ?? null,
    })
    .returning();
  let webhook: Webhook | null = null;
  try {
    webhook = await setupWebhook(db, inserted!, token);
    const { jobId } = await requestSync({ sourceId: id, type: "full", trigger: "create" });
    return { source: toSourceDto(webhook?.source ?? inserted!), jobId };
  } catch (err) {
    await webhook?.remove().catch(() => {});
    await db.delete(sources).where(eq(sources.id, id));
    throw err;
  }
}
