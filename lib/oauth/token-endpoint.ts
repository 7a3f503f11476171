import { z } from "zod";
import { guardedFetch } from "@/lib/connectors/host-guard";
import type { OAuthClient, ProviderSpec } from "./providers";

const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});
const errorResponse = z.object({ error: z.string(), error_description: z.string().optional() });

export type TokenSet = { accessToken: string; refreshToken?: string; expiresAt: Date | null; scopes: string | null };

/**
 * The provider refused the grant for good (`invalid_grant`: code used, expired or not issued for
 * our PKCE verifier; refresh token revoked or rotated away). GitHub answers 200 with
 * `bad_verification_code` or `bad_refresh_token` for the same cases.
 */
export class OAuthGrantError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "OAuthGrantError";
  }
}

/** Any other failure at the token endpoint; `retryable` for network errors, 429 and 5xx. */
export class OAuthEndpointError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "OAuthEndpointError";
  }
}

const GRANT_ERRORS = new Set(["invalid_grant", "bad_verification_code", "bad_refresh_token", "expired_token"]);

/** POSTs a grant to the provider's token endpoint (form-encoded, JSON back) and parses the answer. */
export async function requestToken(
  spec: ProviderSpec,
  client: OAuthClient,
  grant: Record<string, string>,
): Promise<TokenSet> {
  const body = new URLSearchParams(grant);
  const headers: Record<string, string> = {
    accept: "application/json",
    "content-type": "application/x-www-form-urlencoded",
    "user-agent": "data-connector",
  };
  if (spec.clientAuth === "basic") {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString("base64")}`;
  } else {
    body.set("client_id", client.clientId);
    body.set("client_secret", client.clientSecret);
  }
  let response: Response;
  try {
    // The provider-call guard: address checked at connect, PROVIDER_TIMEOUT_SECONDS, a byte cap.
    response = await guardedFetch(spec.tokenUrl, { method: "POST", headers, body }, { provider: spec.id });
  } catch (err) {
    throw new OAuthEndpointError(`${spec.label}'s token endpoint could not be reached (${(err as Error).name}).`, true);
  }
  const text = await response.text().catch((err: Error) => {
    throw new OAuthEndpointError(`${spec.label}'s token endpoint sent an unreadable answer (${err.name}).`, true);
  });
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Some providers answer errors as HTML or form-encoded text; only the status counts then.
  }
  const error = errorResponse.safeParse(json);
  if (error.success) {
    const detail = error.data.error_description ? `: ${error.data.error_description}` : "";
    if (GRANT_ERRORS.has(error.data.error))
      throw new OAuthGrantError(error.data.error, `${spec.label} refused the grant (${error.data.error}${detail}).`);
    throw new OAuthEndpointError(
      `${spec.label}'s token endpoint answered ${error.data.error}${detail}.`,
      response.status === 429 || response.status >= 500,
    );
  }
  if (!response.ok) {
    throw new OAuthEndpointError(
      `${spec.label}'s token endpoint answered HTTP ${response.status}.`,
      response.status === 429 || response.status >= 500,
    );
  }
  const parsed = tokenResponse.safeParse(json);
  if (!parsed.success)
    throw new OAuthEndpointError(`${spec.label}'s token endpoint sent an answer without an access token.`, false);
  const t = parsed.data;
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    expiresAt: t.expires_in ? new Date(Date.now() + t.expires_in * 1000) : null,
    scopes: t.scope ?? null,
  };
}
