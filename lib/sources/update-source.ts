import { eq } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { sources, type Source } from "@/lib/db/schema";
import { resolveProviderToken, sealProviderToken } from "@/lib/oauth/provider-token";
import { requestSync } from "@/lib/queue/request-sync";
import { getSourceOrThrow } from "./get-source-or-throw";
import { toSourceDto } from "./serialize";
import { removeSourceWebhook, setupSourceWebhook } from "./source-webhook";
import { checkSourceConfig } from "./validate-config";

/** Renames a source or changes its config (merged, validated again; secrets not sent are kept). */
export async function updateSource(
  actor: Actor,
  id: string,
  body: { name?: string; config?: Record<string, unknown> },
) {
  const source = await getSourceOrThrow(actor, id);
  // A new connected account replaces a stored token, and a new token replaces the account.
  const switchesAccount = typeof body.config?.credentialId === "string";
  const merged: Record<string, unknown> = { ...source.config, ...body.config };
  // A key sent as null is removed: the setting goes back to its default (the default size cap, no filter).
  for (const [key, value] of Object.entries(body.config ?? {})) if (value === null) delete merged[key];
  const sentToken = ["token", "accessToken"].some((key) => typeof body.config?.[key] === "string");
  if (sentToken) delete merged.credentialId;
  if (source.tokenSecret && !sentToken && !switchesAccount && hostChanged(source, merged))
    throw new AppError(
      "invalid_config",
      "Changing config.host needs a new token: send config.token (issued by the new host) or config.credentialId with it.",
      [{ path: "token", message: "A token is only sent to the host it was given for." }],
    );
  const stored = switchesAccount ? null : source.tokenSecret ? await resolveProviderToken(source) : null;
  const checked = body.config
    ? await checkSourceConfig(actor, source.type, merged, stored, source.config.credentialId)
    : null;
  let [updated] = await getDb()
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
  if (source.webhookId && webhookTargetChanged(source, updated!))
    updated = await moveWebhook(source, updated!, checked?.token ?? null);
  // New filters change which files belong in the index: compare everything again.
  if (body.config) await requestSync({ sourceId: id, type: "full", trigger: "api" });
  return toSourceDto(updated!);
}

/** Whether a GitLab source is pointed at another instance (its stored token stays with the old one). */
function hostChanged(source: Source, config: Record<string, unknown>): boolean {
  if (source.type !== "gitlab") return false;
  const origin = (host: unknown) => {
    try {
      return new URL(typeof host === "string" && host ? host : "https://gitlab.com").origin;
    } catch {
      return String(host);
    }
  };
  return origin(source.config.host) !== origin(config.host);
}

/** Config that says where a source's webhook lives: another repository needs another hook. */
const WEBHOOK_TARGET_KEYS: Partial<Record<string, string[]>> = {
  github: ["repo"],
  gitlab: ["repo", "host"],
  bitbucket: ["repo"],
};

function webhookTargetChanged(before: Source, after: Source): boolean {
  const target = (s: Source, key: string) => String(s.config[key] ?? "").toLowerCase();
  return (WEBHOOK_TARGET_KEYS[before.type] ?? []).some((key) => target(before, key) !== target(after, key));
}

/**
 * The source now follows another repository: a hook there (with a new secret), the old one
 * removed. Without the new hook (the token may not manage hooks there) the source is polled.
 */
async function moveWebhook(before: Source, after: Source, token: string | null): Promise<Source> {
  const hook = await setupSourceWebhook(after, token);
  await removeSourceWebhook(before);
  if (hook) return hook.source;
  const [polled] = await getDb()
    .update(sources)
    .set({ webhookId: null, webhookSecret: null, webhookTokenHash: null, updatedAt: new Date() })
    .where(eq(sources.id, after.id))
    .returning();
  return polled!;
}
