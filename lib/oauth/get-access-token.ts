import { and, eq, sql } from "drizzle-orm";
import { ConnectorAuthError, ConnectorSyncError } from "@/lib/connectors/errors";
import type { DbOrTx } from "@/lib/db/client";
import { getDb } from "@/lib/db/client";
import { credentials, sources, type Credential } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { openCredentialSecret, sealCredentialSecret, type CredentialSecret } from "./credential-secret";
import { sourcesUsing } from "./credentials";
import { OAUTH_PROVIDERS, oauthClient, providerLabel, providerSpec, type OAuthProvider } from "./providers";
import { OAuthGrantError, requestToken } from "./token-endpoint";

/** A token is refreshed on use when it expires within this many seconds. */
export const REFRESH_ON_USE_MARGIN_SECONDS = 5 * 60;

export type ProviderToken = {
  provider: string;
  kind: string;
  accessToken: string;
  username?: string;
  /** The origin that issued the token (see credential-host.ts). */
  host: string | null;
};

const reauth = (provider: string) =>
  new ConnectorAuthError(
    `The ${providerLabel(provider)} connection must be reconnected (Settings → Connected accounts).`,
  );

function needsRefresh(row: Credential, marginSeconds: number): boolean {
  return row.expiresAt !== null && row.expiresAt.getTime() - Date.now() <= marginSeconds * 1000;
}

function toToken(row: Credential, secret: CredentialSecret): ProviderToken {
  return {
    provider: row.provider,
    kind: row.kind,
    accessToken: secret.accessToken,
    host: row.host,
    ...(secret.username ? { username: secret.username } : {}),
  };
}

async function readCredential(db: DbOrTx, id: string): Promise<Credential> {
  const [row] = await db.select().from(credentials).where(eq(credentials.id, id));
  if (!row)
    throw new ConnectorAuthError(
      `The credential ${id} no longer exists: connect the account again and pick it for this source.`,
    );
  return row;
}

/** Marks the credential and every source that uses it `needs_reauth`, in the caller's transaction. */
export async function markNeedsReauth(tx: DbOrTx, row: Credential, reason: string): Promise<void> {
  await tx
    .update(credentials)
    .set({ status: "needs_reauth", lastError: reason, updatedAt: new Date() })
    .where(eq(credentials.id, row.id));
  await tx.update(sources).set({ status: "needs_reauth", updatedAt: new Date() }).where(sourcesUsing(row.id));
}

type RefreshOutcome = { ok: true; token: ProviderToken } | { ok: false; error: Error };

/**
 * Refreshes one credential under a PostgreSQL advisory lock, so that one refresh runs at a time
 * per credential across every process. The row is read again after the lock: whoever waited
 * finds the token a previous holder saved and uses it. A rotated refresh token is saved in the
 * same transaction, before the new access token is handed out. `invalid_grant` marks the
 * credential and its sources `needs_reauth` (committed) and throws ConnectorAuthError.
 */
export async function refreshCredential(id: string, marginSeconds: number): Promise<ProviderToken> {
  const outcome = await withTransaction<RefreshOutcome>(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`credential-refresh:${id}`}))`);
    const row = await readCredential(tx, id);
    if (row.status === "needs_reauth") return { ok: false, error: reauth(row.provider) };
    const secret = openCredentialSecret(row);
    if (!needsRefresh(row, marginSeconds)) return { ok: true, token: toToken(row, secret) };
    const stillValid = row.expiresAt!.getTime() > Date.now() + 5_000;
    const client = OAUTH_PROVIDERS.includes(row.provider as OAuthProvider)
      ? oauthClient(row.provider as OAuthProvider)
      : null;
    if (!secret.refreshToken || !client) {
      if (stillValid) return { ok: true, token: toToken(row, secret) };
      const why = secret.refreshToken
        ? `${row.provider.toUpperCase()}_CLIENT_ID/_SECRET are not set, so the expired token cannot be refreshed.`
        : "The token has expired and the provider gave no refresh token.";
      if (!secret.refreshToken) await markNeedsReauth(tx, row, why);
      return { ok: false, error: secret.refreshToken ? new ConnectorSyncError(why) : reauth(row.provider) };
    }
    const spec = providerSpec(row.provider as OAuthProvider);
    try {
      const tokens = await requestToken(spec, client, {
        grant_type: "refresh_token",
        refresh_token: secret.refreshToken,
      });
      const next: CredentialSecret = {
        accessToken: tokens.accessToken,
        // Providers that rotate send a new refresh token (the old one is void from now on);
        // the others keep the one we have.
        refreshToken: tokens.refreshToken ?? secret.refreshToken,
        ...(secret.username ? { username: secret.username } : {}),
      };
      await tx
        .update(credentials)
        .set({
          ...sealCredentialSecret(row.id, next),
          expiresAt: tokens.expiresAt,
          scopes: tokens.scopes ?? row.scopes,
          lastRefreshedAt: new Date(),
          lastError: null,
          updatedAt: new Date(),
        })
        .where(eq(credentials.id, row.id));
      return { ok: true, token: toToken(row, next) };
    } catch (err) {
      if (err instanceof OAuthGrantError) {
        await markNeedsReauth(tx, row, err.message);
        return { ok: false, error: reauth(row.provider) };
      }
      const message = (err as Error).message;
      await tx.update(credentials).set({ lastError: message, updatedAt: new Date() }).where(eq(credentials.id, row.id));
      // A token that still works is used while the refresh waits for the provider to recover.
      if (stillValid) return { ok: true, token: toToken(row, secret) };
      return {
        ok: false,
        error: new ConnectorSyncError(`Refreshing the ${spec.label} token failed: ${message}`, { cause: err }),
      };
    }
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.token;
}

/**
 * The provider token of a credential, refreshed first when it expires within five minutes.
 * What connectors call with `config.credentialId`. Throws ConnectorAuthError when the user must
 * reconnect, ConnectorSyncError when the provider is briefly unavailable.
 */
export async function getProviderToken(credentialId: string): Promise<ProviderToken> {
  const row = await readCredential(getDb(), credentialId);
  if (row.status === "needs_reauth") throw reauth(row.provider);
  if (!needsRefresh(row, REFRESH_ON_USE_MARGIN_SECONDS)) return toToken(row, openCredentialSecret(row));
  return refreshCredential(credentialId, REFRESH_ON_USE_MARGIN_SECONDS);
}

export async function getAccessToken(credentialId: string): Promise<string> {
  return (await getProviderToken(credentialId)).accessToken;
}

/** Credentials whose tokens expire within `withinSeconds` and can be refreshed (the scheduled job). */
export async function credentialsDueForRefresh(withinSeconds: number): Promise<string[]> {
  const rows = await getDb()
    .select({ id: credentials.id })
    .from(credentials)
    .where(
      and(
        eq(credentials.refreshable, true),
        eq(credentials.status, "active"),
        sql`${credentials.expiresAt} < now() + make_interval(secs => ${withinSeconds})`,
      ),
    );
  return rows.map((r) => r.id);
}
