import type { Source } from "@/lib/db/schema";
import { openWebhookSecret, resolveProviderToken } from "./provider-token";
import { getConnectorDefinition } from "./registry";
import type { Connector, ConnectorContext } from "./types";

/** The connector of a stored source, with its token and webhook secret decrypted. */
export async function connectorForSource(source: Source, extra: Pick<ConnectorContext, "onWait"> = {}): Promise<Connector> {
  return getConnectorDefinition(source.type).create({
    sourceId: source.id,
    config: source.config,
    token: await resolveProviderToken(source),
    webhookSecret: openWebhookSecret(source),
    ...extra,
  });
}

/**
 * The connector of a stored source for checking a webhook: the webhook secret only. Checking a
 * signature never needs the provider token, and resolving it may refresh an OAuth token at
 * the provider (a network call before the answer) or fail for a credential that needs
 * reconnecting, which must not turn a correctly signed push into an error.
 */
export function connectorForWebhook(source: Source): Connector {
  return getConnectorDefinition(source.type).create({
    sourceId: source.id,
    config: source.config,
    token: null,
    webhookSecret: openWebhookSecret(source),
  });
}
