import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { Db } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { resolveProviderToken, sealProviderToken } from "@/lib/connectors/provider-token";
import { requestSync } from "@/lib/sync/request-sync";
import { getSourceOrThrow } from "./get-source-or-throw";
import { toSourceDto } from "./serialize";
import { checkSourceConfig } from "./validate-config";

/** Renames a source or changes its config (merged, validated again; secrets not sent are kept). */
export async function updateSource(db: Db, actor: Actor, id: string, body: { name?: string; config?: Record<string, unknown> }) {
  const source = await getSourceOrThrow(db, actor, id);
  // A new connected account replaces a stored token, and a new token replaces the account.
  const switchesAccount = typeof body.config?.credentialId === "string";
  const merged: Record<string, unknown> = { ...source.config, ...body.config };
  // A key sent as null is removed: the setting goes back to its default (the default size cap, no filter).
  for (const [key, value] of Object.entries(body.config ?? {})) if (value === null) delete merged[key];
  const sentToken = ["token", "accessToken"].some((key) => typeof body.config?.[key] === "string");
  if (sentToken) delete merged.credentialId;
  const stored = switchesAccount ? null : source.tokenSecret ? await resolveProviderToken(source) : null;
  const checked = body.config ? await checkSourceConfig(db, actor, source.type, merged, stored) : null;
  const [updated] = await db
    .update(sources)
    .set({
      name: body.name ?? source.name,
      config: checked?.config ?? source.config,
      ...(checked?.tokenSent && checked.token ? { tokenSecret: sealProviderToken(id, checked.token) } : {}),
      ...(switchesAccount && !checked?.tokenSent ? { tokenSecret: null } : {}),
      ...(checked ? { accountId: checked.connection.accountId ?? source.accountId } : {}),
      updatedAt: new Date(),
    })
    .where(eq(sources.id, id))
    .returning();
  // New filters change which files belong in the index: compare everything again.
  if (body.config) await requestSync({ sourceId: id, type: "full", trigger: "api" });
  return toSourceDto(updated!);
}
