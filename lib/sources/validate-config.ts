import { AppError, zodFieldErrors } from "@/lib/api/errors";
import { ConnectorAuthError, ConnectorConfigError } from "@/lib/connectors/errors";
import { filterConfigSchema, getConnectorDefinition } from "@/lib/connectors/registry";
import type { ConnectionInfo, Connector, ConnectorDefinition } from "@/lib/connectors/types";

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
export async function validateConnection(connector: Connector): Promise<ConnectionInfo> {
  try {
    return (await connector.validateConnection()) ?? {};
  } catch (err) {
    if (err instanceof ConnectorConfigError) {
      throw new AppError("invalid_config", err.message, [{ path: `config.${err.field ?? ""}`.replace(/\.$/, ""), message: err.message }]);
    }
    if (err instanceof ConnectorAuthError) throw new AppError("invalid_config", err.message);
    throw err;
  }
}

/** The parsed config, checked against the provider as the source `sourceId` (null: not created yet). */
export async function checkSourceConfig(
  type: string,
  config: Record<string, unknown>,
  sourceId: string | null = null,
): Promise<{ config: Record<string, unknown>; connection: ConnectionInfo }> {
  const definition = getConnectorDefinition(type);
  const parsed = parseSourceConfig(definition, config);
  const connection = await validateConnection(definition.create({ sourceId, config: parsed }));
  return { config: parsed, connection };
}
