import { eq, lt } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { revokedSessions } from "@/lib/db/schema";

export type SessionClaims = { jti?: unknown; exp?: unknown };

/** Signs a session out on the server: its token id is refused from now until it expires. */
export async function revokeSession(db: DbOrTx, claims: SessionClaims): Promise<void> {
  if (typeof claims.jti !== "string" || !claims.jti) return;
  const expiresAt =
    typeof claims.exp === "number" ? new Date(claims.exp * 1000) : new Date(Date.now() + 30 * 86400_000);
  await db.delete(revokedSessions).where(lt(revokedSessions.expiresAt, new Date()));
  await db.insert(revokedSessions).values({ jti: claims.jti, expiresAt }).onConflictDoNothing();
}

export async function isSessionRevoked(db: DbOrTx, claims: SessionClaims): Promise<boolean> {
  if (typeof claims.jti !== "string" || !claims.jti) return false;
  const [row] = await db
    .select({ jti: revokedSessions.jti })
    .from(revokedSessions)
    .where(eq(revokedSessions.jti, claims.jti));
  return row !== undefined;
}
