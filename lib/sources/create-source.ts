import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { sealProviderToken } from "@/lib/oauth/provider-token";
import { requestSync } from "@/lib/queue/request-sync";
import type { CreateSourceBody } from "./schemas";
import { toSourceDto } from "./serialize";
import { setupSourceWebhook, type SourceWebhook } from "./source-webhook";
import { checkSourceConfig, getConnectorDefinitionOrThrow } from "./validate-config";

/** Connects a source: validate against the provider, store it, register its webhook, queue its first full sync. */
export async function createSource(actor: Actor, body: CreateSourceBody) {
  const definition = getConnectorDefinitionOrThrow(body.type);
  const { config, token, tokenSent, connection } = await checkSourceConfig(actor, body.type, {
    ...definition.configFromName?.(body.name),
    ...body.config,
  });
  const id = randomUUID();
  const db = getDb();
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
  let webhook: SourceWebhook | null = null;
  try {
    webhook = await setupSourceWebhook(inserted!, token);
    const { jobId } = await requestSync({ sourceId: id, type: "full", trigger: "create" });
    return { source: toSourceDto(webhook?.source ?? inserted!), jobId };
  } catch (err) {
    await webhook?.remove().catch(() => {});
    await db.delete(sources).where(eq(sources.id, id));
    throw err;
  }
}
