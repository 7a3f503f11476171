import { credentialHostMismatch } from "@/lib/oauth/credential-host";
import { getProviderToken } from "@/lib/oauth/get-access-token";
import { ConnectorConfigError } from "@/lib/connectors/errors";
import type { StoredSource } from "@/lib/connectors/types";
import { decryptSecret, encryptSecret, getKeyring, type Keyring } from "@/lib/oauth/encryption";

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

/**
 * A connected account's token as connectors take it (Bitbucket API tokens: `email:token`, sent
 * as Basic). With `target`, a token issued by another host than the target's is refused.
 */
export async function credentialToken(credentialId: string, target?: { type: string; host: unknown }): Promise<string> {
  const token = await getProviderToken(credentialId);
  const mismatch = target && credentialHostMismatch(token, target.type, target.host);
  if (mismatch) throw new ConnectorConfigError(mismatch, "credentialId");
  return token.username ? `${token.username}:${token.accessToken}` : token.accessToken;
}

type SourceSecrets = Pick<StoredSource, "id" | "type" | "config" | "tokenSecret">;

/** The decrypted provider token of a source, or null when it has none (public repositories). */
export async function resolveProviderToken(source: SourceSecrets): Promise<string | null> {
  if (source.tokenSecret) return decryptSecret(source.tokenSecret, tokenBinding(source.id));
  const credentialId = source.config.credentialId;
  if (typeof credentialId === "string" && credentialId)
    return credentialToken(credentialId, { type: source.type, host: source.config.host });
  return null;
}

/** The token given in a source's config, opened; null when it uses a connected account or none. */
export function openSourceToken(source: Pick<StoredSource, "id" | "tokenSecret">): string | null {
  return source.tokenSecret ? decryptSecret(source.tokenSecret, tokenBinding(source.id)) : null;
}

// Opened webhook secrets by source id and sealed value: a webhook route checks a signature per
// request, and opening the secret each time was a tenth of its work. A new secret is a new
// sealed value (a fresh IV), so an entry never goes stale; the map is dropped with the keyring.
const openedSecrets = new Map<string, string>();
let openedWith: Keyring | null = null;
const MAX_OPENED_SECRETS = 10_000;

export function openWebhookSecret(source: Pick<StoredSource, "id" | "webhookSecret">): string | null {
  if (!source.webhookSecret) return null;
  const ring = getKeyring();
  if (ring !== openedWith || openedSecrets.size >= MAX_OPENED_SECRETS) {
    openedSecrets.clear();
    openedWith = ring;
  }
  const key = `${source.id}:${source.webhookSecret}`;
  let secret = openedSecrets.get(key);
  if (secret === undefined) {
    secret = decryptSecret(source.webhookSecret, webhookBinding(source.id), ring);
    openedSecrets.set(key, secret);
  }
  return secret;
}
