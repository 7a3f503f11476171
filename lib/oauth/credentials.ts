import { randomUUID } from "node:crypto";
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb, type DbOrTx } from "@/lib/db/client";
import { credentials, sources, type Credential } from "@/lib/db/schema";
import { oauthProviderFor } from "@/lib/providers";
import type { CreateCredentialBody, CredentialDto } from "./schemas";
import { credentialHostMismatch, issuingHost } from "./credential-host";
import { sealCredentialSecret } from "./credential-secret";
import type { TokenSet } from "./token-endpoint";

export function toCredentialDto(row: Credential): CredentialDto {
  return {
    id: row.id,
    provider: row.provider,
    kind: row.kind as CredentialDto["kind"],
    accountId: row.accountId,
    accountName: row.accountName,
    host: row.host,
    scopes: row.scopes,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    status: row.status as CredentialDto["status"],
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Credentials an actor may use and see: admins all, members their own. */
export function visibleCredentials(actor: Actor): SQL | undefined {
  return actor.role === "admin"
    ? undefined
    : eq(credentials.userId, actor.userId ?? "00000000-0000-0000-0000-000000000000");
}

export async function listCredentials(actor: Actor): Promise<CredentialDto[]> {
  const rows = await getDb()
    .select()
    .from(credentials)
    .where(visibleCredentials(actor))
    .orderBy(desc(credentials.createdAt));
  return rows.map(toCredentialDto);
}

/** A credential the actor may use; another user's is a 404 like a missing one. */
export async function getCredentialOrThrow(actor: Actor, id: string): Promise<Credential> {
  const [row] = await getDb()
    .select()
    .from(credentials)
    .where(and(eq(credentials.id, id), visibleCredentials(actor)));
  if (!row) throw new AppError("not_found", `No credential with id ${id}.`);
  return row;
}

/** Sources whose config names this credential. */
export function sourcesUsing(credentialId: string): SQL {
  return sql`${sources.config}->>'credentialId' = ${credentialId}`;
}

/** Stores a personal access token (GitHub, GitLab) or a Bitbucket API token, sealed. */
export async function createTokenCredential(actor: Actor, body: CreateCredentialBody): Promise<CredentialDto> {
  const id = randomUUID();
  const sealed = sealCredentialSecret(id, {
    accessToken: body.token,
    ...(body.username ? { username: body.username } : {}),
  });
  const [row] = await getDb()
    .insert(credentials)
    .values({
      id,
      userId: actor.userId,
      provider: body.provider,
      kind: body.provider === "bitbucket" ? "api_token" : "pat",
      accountName: body.accountName ?? body.username ?? null,
      host: issuingHost(body.provider, body.host ?? "https://gitlab.com"),
      ...sealed,
    })
    .returning();
  return toCredentialDto(row!);
}

/**
 * Stores the tokens of a completed OAuth connection. Connecting the same account again
 * (a reconnect) updates that credential in place, so the sources that use it keep working and
 * leave `needs_reauth`.
 */
export async function saveOAuthCredential(
  tx: DbOrTx,
  input: { userId: string | null; provider: string; accountId: string; accountName: string; tokens: TokenSet },
): Promise<Credential> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtext(${`credential-account:${input.provider}:${input.accountId}`}))`,
  );
  const [existing] = await tx
    .select({ id: credentials.id })
    .from(credentials)
    .where(
      and(
        eq(credentials.provider, input.provider),
        eq(credentials.accountId, input.accountId),
        eq(credentials.kind, "oauth"),
        input.userId === null ? sql`${credentials.userId} is null` : eq(credentials.userId, input.userId),
      ),
    );
  const id = existing?.id ?? randomUUID();
  const values = {
    ...sealCredentialSecret(id, {
      accessToken: input.tokens.accessToken,
      ...(input.tokens.refreshToken ? { refreshToken: input.tokens.refreshToken } : {}),
    }),
    accountName: input.accountName,
    scopes: input.tokens.scopes,
    expiresAt: input.tokens.expiresAt,
    refreshable: Boolean(input.tokens.refreshToken),
    status: "active",
    lastError: null,
    updatedAt: new Date(),
  };
  let row: Credential;
  if (existing) {
    [row] = (await tx.update(credentials).set(values).where(eq(credentials.id, id)).returning()) as [Credential];
    await tx
      .update(sources)
      .set({ status: "pending", updatedAt: new Date() })
      .where(and(sourcesUsing(id), eq(sources.status, "needs_reauth")));
  } else {
    [row] = (await tx
      .insert(credentials)
      .values({
        id,
        userId: input.userId,
        provider: input.provider,
        kind: "oauth",
        accountId: input.accountId,
        host: issuingHost(input.provider),
        ...values,
      })
      .returning()) as [Credential];
  }
  return row;
}

/** Removes a credential no source uses (409 naming the sources otherwise). */
export async function deleteCredential(actor: Actor, id: string): Promise<void> {
  await getCredentialOrThrow(actor, id);
  const db = getDb();
  const users = await db.select({ name: sources.name }).from(sources).where(sourcesUsing(id));
  if (users.length > 0) {
    throw new AppError(
      "conflict",
      `The credential is used by ${users.length} source(s): ${users.map((s) => s.name).join(", ")}. Remove them or switch them to another credential first.`,
    );
  }
  await db.delete(credentials).where(eq(credentials.id, id));
}

export type CredentialUse = {
  /** The source's config.host (GitLab): the credential must have been issued there. */
  host?: unknown;
  /** The source already uses this credential: an admin editing it may keep it. */
  kept?: boolean;
};

/**
 * A credential `actor` may send to a provider: their own (an admin sees everyone's, but uses
 * only their own, or one a source they edit already uses), issued by the host it is sent to.
 */
export async function getUsableCredentialOrThrow(
  actor: Actor,
  id: string,
  sourceType: string,
  use: CredentialUse = {},
): Promise<Credential> {
  const row = await getCredentialOrThrow(actor, id).catch(() => {
    throw new AppError("invalid_config", `config.credentialId: no credential with id ${id}.`);
  });
  if (row.userId !== actor.userId && !use.kept)
    throw new AppError(
      "invalid_config",
      "config.credentialId: that credential belongs to another user; only its owner may use it.",
      [{ path: "credentialId", message: "Use one of your own connected accounts." }],
    );
  const mismatch = credentialHostMismatch(row, sourceType, use.host);
  if (mismatch)
    throw new AppError("invalid_config", `config.credentialId: ${mismatch}`, [
      { path: "credentialId", message: mismatch },
    ]);
  return row;
}

/** Checks that a source may use this credential (the actor may use it, it fits the provider and host). */
export async function assertCredentialUsable(
  actor: Actor,
  id: string,
  sourceType: string,
  use: CredentialUse = {},
): Promise<void> {
  const row = await getUsableCredentialOrThrow(actor, id, sourceType, use);
  const expected = oauthProviderFor(sourceType) ?? sourceType;
  if (row.provider !== expected) {
    throw new AppError(
      "invalid_config",
      `config.credentialId: the credential is for ${row.provider}, not ${expected}.`,
    );
  }
}
