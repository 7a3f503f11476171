import { eq, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { signInThrottles } from "@/lib/db/schema";

/** A key's attempts are forgotten this long after its last one (rows older than this are pruned). */
export const THROTTLE_WINDOW_SECONDS = 15 * 60;
/** Attempts without delay, per account and per client address. */
export const ACCOUNT_ATTEMPTS = 5;
export const ADDRESS_ATTEMPTS = 20;
/** Each attempt past the free ones doubles the wait after the last, up to this (seconds). */
export const MAX_DELAY_SECONDS = 30;

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts one attempt against `key`, unless the key is still waiting: after `free` attempts each
 * one must come at least 1, 2, 4, ... (at most 30) seconds after the previous. There is no
 * lockout, so the right password always gets in once the wait is over; a refused attempt is
 * not counted, so waiting and retrying is enough. The check and the count are one atomic
 * upsert that touches the row only when the attempt is allowed, so parallel attempts cannot
 * all slip past the delay, and a row returned means allowed (whatever the clock's resolution).
 */
export async function takeAttempt(key: string, free: number): Promise<ThrottleVerdict> {
  const db = getDb();
  const t = signInThrottles;
  const expired = sql`${t.lastAttemptAt} < now() - make_interval(secs => ${THROTTLE_WINDOW_SECONDS})`;
  const delay = sql`make_interval(secs => least(${MAX_DELAY_SECONDS}, power(2, greatest(${t.attempts} - ${free}, 0))))`;
  const waiting = sql`(not ${expired} and ${t.attempts} >= ${free} and now() < ${t.lastAttemptAt} + ${delay})`;
  await db.delete(t).where(expired);
  const taken = await db
    .insert(t)
    .values({ key, attempts: 1 })
    .onConflictDoUpdate({
      target: t.key,
      set: { attempts: sql`case when ${expired} then 1 else ${t.attempts} + 1 end`, lastAttemptAt: sql`now()` },
      setWhere: sql`not ${waiting}`,
    })
    .returning({ key: t.key });
  if (taken.length > 0) return { allowed: true };
  const [row] = await db
    .select({
      retryAfter: sql<number>`greatest(1, ceil(extract(epoch from ${t.lastAttemptAt} + ${delay} - now())))::int`,
    })
    .from(t)
    .where(eq(t.key, key));
  return { allowed: false, retryAfterSeconds: row?.retryAfter ?? 1 };
}

/** A successful sign-in clears the account's attempts and gives back the address's attempt. */
export async function recordSuccess(accountKey: string, addressKey: string): Promise<void> {
  const db = getDb();
  await db.delete(signInThrottles).where(eq(signInThrottles.key, accountKey));
  await db
    .update(signInThrottles)
    .set({ attempts: sql`greatest(${signInThrottles.attempts} - 1, 0)` })
    .where(eq(signInThrottles.key, addressKey));
}
