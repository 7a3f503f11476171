import { z } from "zod";
import { decryptSecret, encryptSecret } from "@/lib/oauth/encryption";
import { ConnectorAuthError, ConnectorConfigError } from "./errors";
import type { ConnectorContext } from "./types";

/** Config keys that may hold a provider token; stored sealed (see sealConfigSecrets). */
export const TOKEN_CONFIG_KEYS = ["token", "accessToken"] as const;

/** The credential fields every token-based connector accepts. */
export const tokenConfigSchema = z.object({
  token: z.string().min(1, "token must not be empty").optional(),
  accessToken: z.string().min(1, "accessToken must not be empty").optional(),
  credentialId: z.uuid({ error: "credentialId must be the id of a connected account" }).optional(),
});

const SEALED_PREFIX = "enc:";
const bindingOf = (sourceId: string, key: string) => `source:${sourceId}:config.${key}`;

/** Seals the token fields of a source's config, bound to the source id; sealed ones stay as they are. */
export function sealConfigSecrets(config: Record<string, unknown>, sourceId: string): Record<string, unknown> {
  const sealed = { ...config };
  for (const key of TOKEN_CONFIG_KEYS) {
    const value = sealed[key];
    if (typeof value === "string" && !value.startsWith(SEALED_PREFIX)) {
      sealed[key] = SEALED_PREFIX + encryptSecret(value, bindingOf(sourceId, key));
    }
  }
  return sealed;
}

function openConfigSecret(value: string, sourceId: string | null, key: string): string {
  if (!value.startsWith(SEALED_PREFIX)) return value;
  if (!sourceId) throw new ConnectorConfigError(`config.${key} is sealed for another source; send the token again.`, key);
  return decryptSecret(value.slice(SEALED_PREFIX.length), bindingOf(sourceId, key));
}

/**
 * The access token a connector calls its provider with: the source's own `token` /
 * `accessToken`, or (OAuth issue) the connected account named by `credentialId`. The one
 * place where credentials are resolved, so refresh plugs in here.
 */
export async function resolveAccessToken(context: ConnectorContext): Promise<string> {
  const { config, sourceId } = context;
  for (const key of TOKEN_CONFIG_KEYS) {
    const value = config[key];
    if (typeof value === "string" && value) return openConfigSecret(value, sourceId, key);
  }
  if (typeof config.credentialId === "string") {
    throw new ConnectorAuthError("Connected accounts (credentialId) are not available yet; set config.token to an access token instead.");
  }
  throw new ConnectorConfigError("config.token is required: an access token for the provider account.", "token");
}
