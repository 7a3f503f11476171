import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { apiTokens, users } from "@/lib/db/schema";

export const TOKEN_PREFIX = "dc_";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates a token and returns it; only its hash is stored, so this is the one time it is seen. */
export async function createApiToken(db: DbOrTx, name: string, userId: string | null): Promise<string> {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  await db.insert(apiTokens).values({ name, userId, tokenHash: hashToken(token) });
  return token;
}

/** Revokes every live token with this name; returns how many. */
export async function revokeApiToken(db: DbOrTx, name: string): Promise<number> {
  const revoked = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  return revoked.length;
}

export type Actor = { userId: string | null; role: "admin" | "member"; via: "token" | "session" };

/** The actor behind a live token, or null. A token made without a user acts as an operator (admin). */
export async function actorForToken(db: DbOrTx, token: string): Promise<Actor | null> {
  const [row] = await db
    .select({ id: apiTokens.id, userId: apiTokens.userId, role: users.role })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  if (!row) return null;
  await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.id));
  return { userId: row.userId, role: row.userId === null || row.role === "admin" ? "admin" : "member", via: "token" };
}
