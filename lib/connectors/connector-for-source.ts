import { openWebhookSecret, resolveProviderToken } from "./provider-token";
import { getConnectorDefinition } from "./registry";
import type { Connector, ConnectorContext, StoredSource } from "./types";

/** The connector of a stored source, with its token and webhook secret decrypted. */
export async function connectorForSource(
  source: StoredSource,
  extra: Pick<ConnectorContext, "onWait" | "at"> = {},
): Promise<Connector> {
  return getConnectorDefinition(source.type).create({
    sourceId: source.id,
    config: source.config,
    token: await resolveProviderToken(source),
    webhookSecret: openWebhookSecret(source),
    ...extra,
  });
}
