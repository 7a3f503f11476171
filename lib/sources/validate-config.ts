import { AppError, zodFieldErrors } from "@/lib/api/errors";
import { ConnectorAuthError, ConnectorConfigError } from "@/lib/connectors/errors";
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
    if (err instanceof ConnectorAuthError) throw new AppError("invalid_config", err.message);
    throw err;
  }
}

export async function checkSourceConfig(type: string, config: Record<string, unknown>): Promise<Record<string, unknown>> {
  const definition = getConnectorDefinition(type);
  const parsed = parseSourceConfig(definition, config);
  await validateConnection(definition.create({ sourceId: null, config: parsed }));
  return parsed;
}
