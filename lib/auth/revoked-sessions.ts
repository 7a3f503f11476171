import { eq, lt } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { revokedSessions } from "@/lib/db/schema";

/**
 * The claims that tie a token to its sign-in: `sid` names the session (every token refreshed
 * from one sign-in carries the same one) and `signedInAt` (epoch seconds) is when it began.
 */
export type SessionClaims = { readonly [claim: string]: unknown; sid?: unknown; signedInAt?: unknown };

/** Signs a session out on the server: its id is refused from now until the session would have ended. */
export async function revokeSession(claims: SessionClaims, maxAgeSeconds: number): Promise<void> {
  if (typeof claims.sid !== "string" || !claims.sid) return;
  const start = typeof claims.signedInAt === "number" ? claims.signedInAt * 1000 : Date.now();
  const expiresAt = new Date(Math.max(start + maxAgeSeconds * 1000, Date.now() + 60_000));
  const db = getDb();
  await db.delete(revokedSessions).where(lt(revokedSessions.expiresAt, new Date()));
  await db.insert(revokedSessions).values({ sid: claims.sid, expiresAt }).onConflictDoNothing();
}

export async function isSessionRevoked(sid: string): Promise<boolean> {
  const [row] = await getDb()
    .select({ sid: revokedSessions.sid })
    .from(revokedSessions)
    .where(eq(revokedSessions.sid, sid));
  return row !== undefined;
}
