import { eq, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import { timingDummyHash, verifyPassword } from "./passwords";
import { ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS, recordSuccess, takeAttempt } from "./throttle";

export type SignedInUser = { id: string; email: string; name: string | null; role: "admin" | "member" };
export type SignInResult =
  | { ok: true; user: SignedInUser }
  | { ok: false; reason: "invalid" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number };

/** Email and password, limited per account and per address. Never says which of the two was wrong. */
export async function signInWithPassword(input: {
  email: string;
  password: string;
  address: string;
}): Promise<SignInResult> {
  const email = input.email.trim().toLowerCase();
  const addressKey = `ip:${input.address}`;
  const accountKey = `email:${email}`;
  const byAddress = await takeAttempt(addressKey, ADDRESS_ATTEMPTS);
  if (!byAddress.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: byAddress.retryAfterSeconds };
  const byAccount = await takeAttempt(accountKey, ACCOUNT_ATTEMPTS);
  if (!byAccount.allowed) return { ok: false, reason: "rate_limited", retryAfterSeconds: byAccount.retryAfterSeconds };

  const [user] = await getDb()
    .select({ id: users.id, email: users.email, name: users.name, role: users.role, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(sql`lower(${users.email})`, email));
  const valid = await verifyPassword(input.password, user?.passwordHash ?? (await timingDummyHash()));
  if (!user || !user.passwordHash || !valid) return { ok: false, reason: "invalid" };
  await recordSuccess(accountKey, addressKey);
  return {
    ok: true,
    user: { id: user.id, email: user.email, name: user.name, role: user.role === "admin" ? "admin" : "member" },
  };
}
