import { AppError, zodFieldErrors } from "@/lib/api/errors";
import { ConnectorAuthError, ConnectorConfigError, ConnectorError } from "@/lib/connectors/errors";
import { filterConfigSchema, getConnectorDefinition } from "@/lib/connectors/registry";
import type { Connector, ConnectorDefinition } from "@/lib/connectors/types";

/** Parses a source's config for its type (provider fields plus filters) with field-level errors. */
export function parseSourceConfig(definition: ConnectorDefinition, config: Record<string, unknown>): Record<string, unknown> {
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

/** Checks that the provider accepts the config, turning its complaint into a 400 on the field. */
export async function validateConnection(connector: Connector): Promise<void> {
  try {
    await connector.validateConnection();
  } catch (err) {
    if (err instanceof ConnectorConfigError) {
      throw new AppError("invalid_config", err.message, [{ path: `config.${err.field ?? ""}`.replace(/\.$/, ""), message: err.message }]);
    }
    if (err instanceof ConnectorAuthError) throw new AppError("invalid_config", err.message, [{ path: "config.token", message: err.message }]);
    if (err instanceof ConnectorError) throw new AppError("unavailable", `The provider could not be checked right now: ${err.message} Try again in a minute.`);
    throw err;
  }
}

export type CheckedConfig = {
  /** What is stored in sources.config: no token in it. */
  config: Record<string, unknown>;
  /** The token sent in this config, else the one already stored (`storedToken`). */
  token: string | null;
};

/** Parses and validates a config against the provider; the token is split off to be stored sealed. */
export async function checkSourceConfig(type: string, config: Record<string, unknown>, storedToken: string | null = null): Promise<CheckedConfig> {
  const definition = getConnectorDefinition(type);
  const { token: sent, ...parsed } = parseSourceConfig(definition, config);
  const token = typeof sent === "string" ? sent : storedToken;
  const connector = definition.create({ sourceId: null, config: parsed, token });
  await validateConnection(connector);
  return { config: { ...parsed, ...connector.settledConfig?.() }, token };
}
