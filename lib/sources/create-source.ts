import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { sealConfigSecrets } from "@/lib/connectors/credentials";
import { ConnectorAuthError, ConnectorConfigError } from "@/lib/connectors/errors";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import type { Db } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { requestSync } from "@/lib/sync/request-sync";
import { webhookCallbackUrl } from "@/lib/webhooks/callback-url";
import type { CreateSourceBody } from "./schemas";
import { toSourceDto } from "./serialize";
import { checkSourceConfig } from "./validate-config";

/**
 * Registers the provider webhook of a new source. A refusal (auth, config) undoes the source;
 * a transient failure keeps it (the scheduled renewal sets the webhook up later).
 */
async function setupWebhook(db: Db, source: typeof sources.$inferSelect) {
  const callbackUrl = webhookCallbackUrl(source.type);
  const connector = getConnectorDefinition(source.type).create({ sourceId: source.id, config: source.config });
  if (!callbackUrl || !connector.setupWebhook) return source;
  try {
    const { webhookId } = await connector.setupWebhook(callbackUrl);
    const [updated] = await db.update(sources).set({ webhookId, updatedAt: new Date() }).where(eq(sources.id, source.id)).returning();
    return updated!;
  } catch (err) {
    if (err instanceof ConnectorAuthError || err instanceof ConnectorConfigError) {
      await db.delete(sources).where(eq(sources.id, source.id));
      throw new AppError("invalid_config", `The provider refused the webhook: ${err.message}`);
    }
    console.error(`[sources] webhook setup for source ${source.id} failed, will retry on schedule:`, (err as Error).message);
    return source;
  }
}

/** Connects a source: validate against the provider, store it, queue its first full sync. */
export async function createSource(db: Db, actor: Actor, body: CreateSourceBody) {
  const id = randomUUID();
  const { config, connection } = await checkSourceConfig(body.type, body.config);
  const [inserted] = await db
    .insert(sources)
    .values({ id, type: body.type, name: body.name, config: sealConfigSecrets(config, id), accountId: connection.accountId ?? null, userId: actor.userId })
    .returning();
  const source = await setupWebhook(db, inserted!);
  try {
    const { job } = await requestSync({ sourceId: id, type: "full", trigger: "create" });
    return { source: toSourceDto(source), jobId: job.id };
  } catch (err) {
    await db.delete(sources).where(eq(sources.id, id));
    throw err;
  }
}
