import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/lib/db/client";
import { signInThrottles } from "@/lib/db/schema";

export const THROTTLE_WINDOW_SECONDS = 15 * 60;
/** Sign-in attempts allowed per window, per account and per client address. */
export const ACCOUNT_ATTEMPTS = 5;
export const ADDRESS_ATTEMPTS = 20;

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts one attempt against `key` and says whether it is within `limit`. Counting first (one
 * atomic upsert) means parallel attempts cannot all slip under the limit.
 */
export async function takeAttempt(db: DbOrTx, key: string, limit: number): Promise<ThrottleVerdict> {
  const expired = sql`${signInThrottles.windowStartedAt} < now() - make_interval(secs => ${THROTTLE_WINDOW_SECONDS})`;
  const [row] = await db
    .insert(signInThrottles)
    .values({ key, attempts: 1 })
    .onConflictDoUpdate({
      target: signInThrottles.key,
      set: {
        attempts: sql`case when ${expired} then 1 else ${signInThrottles.attempts} + 1 end`,
        windowStartedAt: sql`case when ${expired} then now() else ${signInThrottles.windowStartedAt} end`,
      },
    })
    .returning({
      attempts: signInThrottles.attempts,
      retryAfter: sql<number>`greatest(1, ceil(extract(epoch from ${signInThrottles.windowStartedAt} + make_interval(secs => ${THROTTLE_WINDOW_SECONDS}) - now())))::int`,
    });
  return row!.attempts <= limit ? { allowed: true } : { allowed: false, retryAfterSeconds: row!.retryAfter };
}

/** A successful sign-in clears the account's failures and gives back the address's attempt. */
export async function recordSuccess(db: DbOrTx, accountKey: string, addressKey: string): Promise<void> {
  await db.delete(signInThrottles).where(eq(signInThrottles.key, accountKey));
  await db
    .update(signInThrottles)
    .set({ attempts: sql`greatest(${signInThrottles.attempts} - 1, 0)` })
    .where(eq(signInThrottles.key, addressKey));
}
