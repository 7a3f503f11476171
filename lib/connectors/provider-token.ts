import type { Source } from "@/lib/db/schema";
import { getProviderToken } from "@/lib/oauth/get-access-token";
import { decryptSecret, encryptSecret } from "@/lib/oauth/encryption";

// The one place that says which token a source talks to its provider with: the token given in
// the source's config (stored sealed in sources.token_secret, never in config), else the
// connected account named by config.credentialId (refreshed on use when it is about to expire).

const tokenBinding = (sourceId: string) => `source:${sourceId}:token`;
const webhookBinding = (sourceId: string) => `source:${sourceId}:webhook`;

/** Config keys a token may be sent in; split off before the config is stored. */
export const TOKEN_CONFIG_KEYS = ["token", "accessToken"] as const;

export function sealProviderToken(sourceId: string, token: string): string {
  return encryptSecret(token, tokenBinding(sourceId));
}

export function sealWebhookSecret(sourceId: string, secret: string): string {
  return encryptSecret(secret, webhookBinding(sourceId));
}

/** A connected account's token as connectors take it (Bitbucket API tokens: `email:token`, sent as Basic). */
export async function credentialToken(credentialId: string): Promise<string> {
  const token = await getProviderToken(credentialId);
  return token.username ? `${token.username}:${token.accessToken}` : token.accessToken;
}

type SourceSecrets = Pick<Source, "id" | "config" | "tokenSecret">;

/** The decrypted provider token of a source, or null when it has none (public repositories). */
export async function resolveProviderToken(source: SourceSecrets): Promise<string | null> {
  if (source.tokenSecret) return decryptSecret(source.tokenSecret, tokenBinding(source.id));
  const credentialId = source.config.credentialId;
  if (typeof credentialId === "string" && credentialId) return credentialToken(credentialId);
  return null;
}

export function openWebhookSecret(source: Pick<Source, "id" | "webhookSecret">): string | null {
  return source.webhookSecret ? decryptSecret(source.webhookSecret, webhookBinding(source.id)) : null;
}
