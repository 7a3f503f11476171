import { z } from "zod";
import { ConnectorConfigError } from "./errors";
import type { ConnectorContext } from "./types";

/** The credential fields every token-based connector accepts (the token is split off and sealed). */
export const tokenConfigSchema = z.object({
  token: z.string().min(1, "token must not be empty").optional(),
  accessToken: z.string().min(1, "accessToken must not be empty").optional(),
  credentialId: z.uuid({ error: "credentialId must be the id of a connected account" }).optional(),
});

/**
 * The access token a Drive or Dropbox connector calls its provider with: the source's sealed
 * token or its connected account, both resolved by resolveProviderToken into `context.token`.
 */
export async function resolveAccessToken(context: ConnectorContext): Promise<string> {
  if (context.token) return context.token;
  throw new ConnectorConfigError(
    "config.token is required: an access token for the provider account (or config.credentialId, a connected account).",
    "token",
  );
}
