import { decryptSecret, encryptSecret } from "@/lib/oauth/encryption";
import type { Source } from "@/lib/db/schema";

// The one place that says which token a source talks to its provider with. Today: the token
// given in the source's config, stored sealed in sources.token_secret. Connected accounts
// (config.credentialId → credentials) plug in here.

const tokenBinding = (sourceId: string) => `source:${sourceId}:token`;
const webhookBinding = (sourceId: string) => `source:${sourceId}:webhook`;

export function sealProviderToken(sourceId: string, token: string): string {
  return encryptSecret(token, tokenBinding(sourceId));
}

export function sealWebhookSecret(sourceId: string, secret: string): string {
  return encryptSecret(secret, webhookBinding(sourceId));
}

type SourceSecrets = Pick<Source, "id" | "config" | "tokenSecret">;

/** The decrypted provider token of a source, or null when it has none (public repositories). */
export async function resolveProviderToken(source: SourceSecrets): Promise<string | null> {
  if (source.tokenSecret) return decryptSecret(source.tokenSecret, tokenBinding(source.id));
  return null;
}

export function openWebhookSecret(source: Pick<Source, "id" | "webhookSecret">): string | null {
  return source.webhookSecret ? decryptSecret(source.webhookSecret, webhookBinding(source.id)) : null;
}
