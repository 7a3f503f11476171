import { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { apiTokens, users } from "@/lib/db/schema";

export const TOKEN_PREFIX = "dc_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates a token and returns it; only its hash is stored, so this is the one time it is seen. */
export async function createApiToken(name: string, userId: string | null): Promise<string> {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  await getDb()
    .insert(apiTokens)
    .values({ name, userId, tokenHash: hashToken(token) });
  return token;
}

/** Revokes every live token with this name; returns how many. */
export async function revokeApiToken(name: string): Promise<number> {
  const revoked = await getDb()
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  return revoked.length;
}

export type Actor = { userId: string | null; role: "admin" | "member"; via: "token" | "session" };

/** The actor behind a live token, or null. A token made without a user acts as an operator (admin). */
export async function actorForToken(token: string): Promise<Actor | null> {
  const db = getDb();
  const [row] = await db
    .select({ id: apiTokens.id, userId: apiTokens.userId, role: users.role })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  if (!row) return null;
  await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.id));
  return { userId: row.userId, role: row.userId === null || row.role === "admin" ? "admin" : "member", via: "token" };
}

export type ApiTokenDto = {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

/** A user's tokens for the settings page: names and dates, never a hash. */
export async function listApiTokens(userId: string): Promise<ApiTokenDto[]> {
  const rows = await getDb()
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      createdAt: apiTokens.createdAt,
      lastUsedAt: apiTokens.lastUsedAt,
      revokedAt: apiTokens.revokedAt,
    })
    .from(apiTokens)
    .where(eq(apiTokens.userId, userId))
    .orderBy(desc(apiTokens.createdAt));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
  }));
}

/** Revokes one of the user's own tokens; false when there is no such live token. */
export async function revokeApiTokenById(userId: string, id: string): Promise<boolean> {
  const revoked = await getDb()
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  return revoked.length > 0;
}
