import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import { sealConfigSecrets } from "@/lib/connectors/credentials";
import type { Db } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { requestSync } from "@/lib/sync/request-sync";
import { getSourceOrThrow } from "./get-source-or-throw";
import { toSourceDto } from "./serialize";
import { checkSourceConfig } from "./validate-config";

/** Renames a source or changes its config (merged, validated again; secrets not sent are kept). */
export async function updateSource(db: Db, actor: Actor, id: string, body: { name?: string; config?: Record<string, unknown> }) {
  const source = await getSourceOrThrow(db, actor, id);
  const checked = body.config ? await checkSourceConfig(source.type, { ...source.config, ...body.config }, id) : null;
  const config = checked ? sealConfigSecrets(checked.config, id) : source.config;
  const accountId = checked ? (checked.connection.accountId ?? null) : source.accountId;
  const [updated] = await db
    .update(sources)
    .set({ name: body.name ?? source.name, config, accountId, updatedAt: new Date() })
    .where(eq(sources.id, id))
    .returning();
  // New filters change which files belong in the index: compare everything again.
  if (body.config) await requestSync({ sourceId: id, type: "full", trigger: "api" });
  return toSourceDto(updated!);
}
