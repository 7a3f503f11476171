import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { eq, sql } from "drizzle-orm";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { hashPassword } from "@/lib/auth/passwords";
import { closeDb, getDb } from "@/lib/db/client";
import { runMigrations } from "@/lib/db/migrate";
import { resolveDatabase } from "@/lib/db/resolve-database";
import { users } from "@/lib/db/schema";
import { MIN_PASSWORD_LENGTH } from "@/lib/auth/first-admin";
import { reencryptCredentials } from "@/lib/oauth/reencrypt-credentials";

const USAGE = `Usage: npm run cli -- <command>

  tokens create <name> [--user <email>]   create an API token (printed once, as the last line)
  tokens revoke <name>                    revoke the tokens with this name
  users create <email> [--role admin|member]  create a user (asks for a password, or generates one)
  credentials reencrypt                   re-encrypt every stored provider token with the current key
  migrate                                 apply the database migrations`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (!value || value.startsWith("--")) fail(`${name} needs a value.\n\n${USAGE}`);
  args.splice(i, 2);
  return value;
}

/** The password typed at the prompt, or a generated one (then shown once). */
async function askPassword(): Promise<{ password: string; generated: boolean }> {
  let answer = "";
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    answer = await rl.question("Password (empty to generate one): ");
    rl.close();
  }
  return answer
    ? { password: answer, generated: false }
    : { password: randomBytes(18).toString("base64url"), generated: true };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [group, action] = args;
  if (!group || group === "help" || group === "--help") {
    console.log(USAGE);
    return;
  }
  const { url, embedded } = await resolveDatabase();
  process.env.DATABASE_URL = url;
  try {
    await runMigrations(url);
    if (group === "migrate") {
      console.log("Migrations applied.");
      return;
    }
    const db = getDb();
    if (group === "tokens" && action === "create") {
      const email = option(args, "--user");
      const name = args[2] ?? fail(`tokens create needs a name.\n\n${USAGE}`);
      let userId: string | null = null;
      if (email) {
        const [user] = await db
          .select({ id: users.id })
          .from(users)
          .where(eq(sql`lower(${users.email})`, email.toLowerCase()));
        if (!user) fail(`No user with email ${email}. Create one with: npm run cli -- users create ${email}`);
        userId = user.id;
      }
      const token = await createApiToken(name, userId);
      console.log(
        `Created API token "${name}"${email ? ` for ${email}` : " (operator: sees every source)"}. It is shown only now:`,
      );
      console.log(token);
    } else if (group === "tokens" && action === "revoke") {
      const name = args[2] ?? fail(`tokens revoke needs a name.\n\n${USAGE}`);
      const count = await revokeApiToken(name);
      if (count === 0) fail(`No live token named "${name}".`);
      console.log(`Revoked ${count} token(s) named "${name}".`);
    } else if (group === "credentials" && action === "reencrypt") {
      const { moved, failed } = await reencryptCredentials();
      console.log(
        `Re-encrypted ${moved} credential(s) with the current key.${failed ? ` ${failed} could not be opened (see above).` : ""}`,
      );
      if (failed) process.exitCode = 1;
    } else if (group === "users" && action === "create") {
      const role = option(args, "--role") ?? "member";
      if (role !== "admin" && role !== "member") fail("--role must be admin or member.");
      const email = args[2] ?? fail(`users create needs an email.\n\n${USAGE}`);
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) fail(`"${email}" is not an email address.`);
      const { password, generated } = await askPassword();
      if (password.length < MIN_PASSWORD_LENGTH)
        fail(`The password must have at least ${MIN_PASSWORD_LENGTH} characters.`);
      const inserted = await db
        .insert(users)
        .values({ email, role, passwordHash: await hashPassword(password) })
        .onConflictDoNothing()
        .returning({ id: users.id });
      if (inserted.length === 0) fail(`A user with email ${email} already exists.`);
      console.log(`Created ${role} ${email}.${generated ? ` Generated password (shown only now): ${password}` : ""}`);
    } else {
      fail(`Unknown command "${args.join(" ")}".\n\n${USAGE}`);
    }
  } finally {
    await closeDb();
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
