import { eq } from "drizzle-orm";
import { decode, encode } from "next-auth/jwt";
import type { DbOrTx } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import type { Actor } from "./api-tokens";
import { isSessionRevoked } from "./revoked-sessions";
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

function readCookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/**
 * The user behind the request's session cookie, or null (no cookie, expired, tampered, or the
 * user is gone, or the session was signed out). The role is read from the database, so a changed role applies at once.
 */
export async function actorForSession(db: DbOrTx, request: Request): Promise<Actor | null> {
  const name = sessionCookieName();
  const token = readCookie(request, name);
  if (!token) return null;
  const payload = await decode({ token, secret: authSecrets(), salt: name }).catch(() => null);
  const userId = typeof payload?.sub === "string" ? payload.sub : null;
  if (!userId || !/^[0-9a-f-]{36}$/i.test(userId)) return null;
  if (await isSessionRevoked(db, payload!)) return null;
  const [user] = await db.select({ id: users.id, role: users.role }).from(users).where(eq(users.id, userId));
  if (!user) return null;
  return { userId: user.id, role: user.role === "admin" ? "admin" : "member", via: "session" };
}

/** A session cookie for a user, exactly as the sign-in would set it (used by tests and tools). */
export async function encodeSessionCookie(
  user: { id: string; email: string },
  maxAge = sessionMaxAge(),
): Promise<string> {
  const name = sessionCookieName();
  const token = await encode({
    token: { sub: user.id, email: user.email },
    secret: authSecrets()[0]!,
    salt: name,
    maxAge,
  });
  return `${name}=${token}`;
}
