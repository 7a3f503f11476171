import { AppError, zodFieldErrors } from "@/lib/api/errors";
import {
  ConnectorAuthError,
  ConnectorConfigError,
  ConnectorError,
  UnknownSourceTypeError,
} from "@/lib/connectors/errors";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import { filterConfigSchema } from "@/lib/sync/filters";
import type { ConnectionInfo, Connector, ConnectorDefinition } from "@/lib/connectors/types";
import { credentialToken } from "@/lib/oauth/provider-token";
import { localSourcesForMembers } from "@/lib/connectors/local";
import type { Actor } from "@/lib/auth/api-tokens";
import { assertCredentialUsable } from "@/lib/oauth/credentials";

/** Parses a source's config for its type (provider fields plus filters) with field-level errors. */
export function parseSourceConfig(
  definition: ConnectorDefinition,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const filters = filterConfigSchema.safeParse(config);
  const provider = definition.configSchema.safeParse(config);
  const errors = [
    ...(filters.success ? [] : zodFieldErrors(filters.error)),
    ...(provider.success ? [] : zodFieldErrors(provider.error)),
  ].map((e) => ({ ...e, path: `config.${e.path}` }));
  if (errors.length > 0) {
    throw new AppError("invalid_config", errors.map((e) => `${e.path}: ${e.message}`).join("; "), errors);
  }
  return { ...(provider.data as Record<string, unknown>), ...(filters.data as Record<string, unknown>) };
}

/** The connector for a source type; a 400 naming the valid types for an unknown one. */
export function getConnectorDefinitionOrThrow(type: string): ConnectorDefinition {
  try {
    return getConnectorDefinition(type);
  } catch (err) {
    if (err instanceof UnknownSourceTypeError) throw new AppError("unknown_source_type", err.message);
    throw err;
  }
}

/** Checks that the provider accepts the config, turning its complaint into a 400 on the field. */
export async function validateConnection(connector: Connector): Promise<ConnectionInfo> {
  try {
    return (await connector.validateConnection()) ?? {};
  } catch (err) {
    if (err instanceof ConnectorConfigError) {
      throw new AppError("invalid_config", err.message, [
        { path: `config.${err.field ?? ""}`.replace(/\.$/, ""), message: err.message },
      ]);
    }
    if (err instanceof ConnectorAuthError)
      throw new AppError("invalid_config", err.message, [{ path: "config.token", message: err.message }]);
    if (err instanceof ConnectorError)
      throw new AppError(
        "unavailable",
        `The provider could not be checked right now: ${err.message} Try again in a minute.`,
      );
    throw err;
  }
}

export type CheckedConfig = {
  /** What is stored in sources.config: no token in it. */
  config: Record<string, unknown>;
  /** The token sent in this config (`token` or `accessToken`), else the one already stored. */
  token: string | null;
  /** True when the config sent a new token. */
  tokenSent: boolean;
  /** What the provider told about the account (stored on the source). */
  connection: ConnectionInfo;
};

/**
 * Parses and validates a config against the provider as `actor`; the token is split off to be
 * stored sealed. A connected account (`credentialId`) must be one the actor may use, for this
 * provider; its token is what the check uses.
 */
export async function checkSourceConfig(
  actor: Actor,
  type: string,
  config: Record<string, unknown>,
  storedToken: string | null = null,
  keptCredentialId: unknown = null,
): Promise<CheckedConfig> {
  const definition = getConnectorDefinitionOrThrow(type);
  if (type === "local" && actor.role !== "admin" && !localSourcesForMembers()) {
    throw new AppError(
      "forbidden",
      "Only admins may connect or change local folders (an admin can allow members with LOCAL_SOURCES_FOR_MEMBERS=true).",
    );
  }
  const { token: sentToken, accessToken: sentAccessToken, ...parsed } = parseSourceConfig(definition, config);
  const sent = [sentToken, sentAccessToken].find((t): t is string => typeof t === "string" && t.length > 0) ?? null;
  let token = sent ?? storedToken;
  if (!sent && typeof parsed.credentialId === "string") {
    await assertCredentialUsable(actor, parsed.credentialId, type, {
      host: parsed.host,
      kept: parsed.credentialId === keptCredentialId,
    });
    token = await credentialToken(parsed.credentialId).catch((err: unknown) => {
      throw new AppError("invalid_config", `config.credentialId: ${(err as Error).message}`);
    });
  }
  const connector = definition.create({ sourceId: null, config: parsed, token });
  const connection = await validateConnection(connector);
  return { config: { ...parsed, ...connector.settledConfig?.() }, token, tokenSent: sent !== null, connection };
}
