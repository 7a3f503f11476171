import { eq, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { users } from "@/lib/db/schema";

export const SIGN_IN_PROVIDERS = ["github", "gitlab", "google"] as const;
export type SignInProvider = (typeof SIGN_IN_PROVIDERS)[number];

/** Sign-in providers whose OAuth app is configured (`<PROVIDER>_CLIENT_ID` and `_SECRET`). */
export function configuredSignInProviders(env: NodeJS.ProcessEnv = process.env): SignInProvider[] {
  return SIGN_IN_PROVIDERS.filter(
    (p) => env[`${p.toUpperCase()}_CLIENT_ID`] && env[`${p.toUpperCase()}_CLIENT_SECRET`],
  );
}

/** The email the provider vouches for, or null when it does not say the address is verified. */
export function verifiedEmail(provider: string, profile: Record<string, unknown> | undefined): string | null {
  if (!profile) return null;
  const email = (v: unknown) => (typeof v === "string" && v.includes("@") ? v.toLowerCase() : null);
  switch (provider) {
    // Set by our userinfo request from /user/emails: the primary address, only when verified.
    case "github":
      return email(profile.verified_email);
    // GitLab's /user email is the primary one; confirmed_at (a timestamp) says it was confirmed.
    case "gitlab":
      return typeof profile.confirmed_at === "string" && profile.confirmed_at ? email(profile.email) : null;
    case "google":
      return profile.email_verified === true ? email(profile.email) : null;
    default:
      return null;
  }
}

/**
 * OAuth sign-in never creates accounts: it signs in the existing user whose email the provider
 * has verified. Anyone else is refused.
 */
export async function userForOAuthSignIn(
  provider: string,
  profile: Record<string, unknown> | undefined,
): Promise<{ id: string; email: string } | null> {
  const email = verifiedEmail(provider, profile);
  if (!email) return null;
  const [user] = await getDb()
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(eq(sql`lower(${users.email})`, email));
  return user ?? null;
}
