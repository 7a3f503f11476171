import { sql } from "drizzle-orm";
import { z } from "zod";
import { withTransaction } from "@/lib/db/transaction";
import { users } from "@/lib/db/schema";
import type { DbOrTx } from "@/lib/db/client";
import { hashPassword } from "./passwords";

export const MIN_PASSWORD_LENGTH = 12;

export const newUserInput = z.object({
  email: z.email({ error: "Enter a valid email address." }).max(320),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`)
    .max(1024, "The password is too long."),
});

export async function hasAnyUser(db: DbOrTx): Promise<boolean> {
  const [row] = await db
    .select({ one: sql<number>`1` })
    .from(users)
    .limit(1);
  return row !== undefined;
}

/**
 * Creates the first admin, only while there is no user at all (the setup page and
 * ADMIN_EMAIL/ADMIN_PASSWORD both end here). Returns null when a user already exists; a
 * transaction-scoped advisory lock makes two racing setups create one admin.
 */
export async function createFirstAdmin(input: {
  email: string;
  password: string;
}): Promise<{ id: string; email: string } | null> {
  const { email, password } = newUserInput.parse(input);
  const passwordHash = await hashPassword(password);
  return withTransaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('data-connector:first-admin'))`);
    if (await hasAnyUser(tx)) return null;
    const [user] = await tx
      .insert(users)
      .values({ email, passwordHash, role: "admin" })
      .returning({ id: users.id, email: users.email });
    return user!;
  });
}
