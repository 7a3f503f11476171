import { openWebhookSecret, resolveProviderToken } from "@/lib/oauth/provider-token";
import { getConnectorDefinition } from "@/lib/connectors/registry";
import type { Connector, ConnectorContext, StoredSource } from "@/lib/connectors/types";

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
    headValidator: source.headValidator ?? null,
    ...extra,
  });
}
