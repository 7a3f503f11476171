import "server-only";
import { eq } from "drizzle-orm";
import { redirect } from "next/navigation";
import { getDb } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import type { Actor } from "./api-tokens";
import { auth } from "./auth";
import { hasAnyUser } from "./first-admin";
import { revokeSession, type SessionClaims } from "./revoked-sessions";
import { sessionMaxAge } from "./session";

export type CurrentUser = { id: string; email: string; name: string | null; role: "admin" | "member" };

/**
 * The signed-in user of this request, read from the database (a deleted user is signed out).
 * A signed-out or ended session has no user: the jwt callback refuses it.
 */
export async function currentUser(): Promise<CurrentUser | null> {
  const session = await auth();
  const id = session?.user?.id;
  if (!id) return null;
  const [user] = await getDb()
    .select({ id: users.id, email: users.email, name: users.name, role: users.role })
    .from(users)
    .where(eq(users.id, id));
  return user ? { ...user, role: user.role === "admin" ? "admin" : "member" } : null;
}

/** For every dashboard page and server action: the user, or off to sign-in (or first-run setup). */
export async function requireUser(): Promise<CurrentUser> {
  const user = await currentUser();
  if (user) return user;
  redirect((await hasAnyUser(getDb())) ? "/sign-in" : "/setup");
}

export function actorOf(user: CurrentUser): Actor {
  return { userId: user.id, role: user.role, via: "session" };
}

/** Sign-out on the server: every token of the current session is refused from now on, even if copied. */
export async function revokeCurrentSession(): Promise<void> {
  const session = (await auth()) as SessionClaims | null;
  if (session) await revokeSession(session, sessionMaxAge());
}
