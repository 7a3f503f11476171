import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { decode, encode } from "next-auth/jwt";
import { getDb } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import type { Actor } from "./api-tokens";
import { readCookie } from "./read-cookie";
import { isSessionRevoked, type SessionClaims } from "./revoked-sessions";
import { authSecrets } from "./secret";

/** A signed-in session lasts this long from sign-in (seconds); SESSION_MAX_AGE overrides it. */
export function sessionMaxAge(): number {
  const configured = Number(process.env.SESSION_MAX_AGE);
  return Number.isFinite(configured) && configured > 0 ? configured : 8 * 3600;
}

/** Secure (`__Secure-`) cookies when the app is served over https. */
export function secureCookies(): boolean {
  return (process.env.APP_URL ?? process.env.AUTH_URL ?? "").startsWith("https:");
}

export function sessionCookieName(): string {
  return `${secureCookies() ? "__Secure-" : ""}dc.session-token`;
}

/** The claims a new sign-in puts in its token: a fresh session id and the sign-in time. */
export function newSessionClaims(): { sid: string; signedInAt: number } {
  return { sid: randomUUID(), signedInAt: Math.floor(Date.now() / 1000) };
}

/**
 * Whether a token's session is still live: it names a session (`sid`), began less than
 * SESSION_MAX_AGE ago (refreshing a token never extends this), and was not signed out.
 */
export async function isSessionLive(claims: SessionClaims): Promise<boolean> {
  if (typeof claims.sid !== "string" || !claims.sid || typeof claims.signedInAt !== "number") return false;
  if (claims.signedInAt + sessionMaxAge() <= Date.now() / 1000) return false;
  return !(await isSessionRevoked(claims.sid));
}

/**
 * The user behind the request's session cookie, or null (no cookie, expired, tampered, or the
 * user is gone, or the session was signed out). The role is read from the database, so a changed role applies at once.
 */
export async function actorForSession(request: Request): Promise<Actor | null> {
  const name = sessionCookieName();
  const token = readCookie(request, name);
  if (!token) return null;
  const payload = await decode({ token, secret: authSecrets(), salt: name }).catch(() => null);
  const userId = typeof payload?.sub === "string" ? payload.sub : null;
  if (!userId || !/^[0-9a-f-]{36}$/i.test(userId)) return null;
  if (!(await isSessionLive(payload!))) return null;
  const [user] = await getDb().select({ id: users.id, role: users.role }).from(users).where(eq(users.id, userId));
  if (!user) return null;
  return { userId: user.id, role: user.role === "admin" ? "admin" : "member", via: "session" };
}

/**
 * A session cookie for a user, exactly as the sign-in would set it (used by tests and tools);
 * `claims` overrides the session id or sign-in time.
 */
export async function encodeSessionCookie(
  user: { id: string; email: string },
  maxAge = sessionMaxAge(),
  claims: Partial<{ sid: string; signedInAt: number }> = {},
): Promise<string> {
  const name = sessionCookieName();
  const token = await encode({
    token: { sub: user.id, email: user.email, ...newSessionClaims(), ...claims },
    secret: authSecrets()[0]!,
    salt: name,
    maxAge,
  });
  return `${name}=${token}`;
}
