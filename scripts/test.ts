import { spawn } from "node:child_process";
import { globSync } from "node:fs";
import pg from "pg";
import { runMigrations } from "@/lib/db/migrate";
import { startEmbeddedPostgres } from "@/lib/db/embedded";

// `npm test`: against DATABASE_URL when set (its schema is reset first), else against an
// embedded PostgreSQL started for the run. Test files run one at a time (they share the database).
async function resetDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    "drop schema if exists public cascade; drop schema if exists pgboss cascade; drop schema if exists drizzle cascade; create schema public;",
  );
  await client.end();
}

async function main(): Promise<void> {
  const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres(null);
  const url = process.env.DATABASE_URL ?? embedded!.url;
  if (!embedded) await resetDatabase(url);
  await runMigrations(url);
  console.log(`[test] database: ${embedded ? "embedded (PGlite)" : url.replace(/\/\/[^@]*@/, "//")}`);

  const filter = process.argv.slice(2);
  const files = globSync("test/**/*.test.ts")
    .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
    .sort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
    {
      stdio: "inherit",
      env: {
        ...process.env,
        DATABASE_URL: url,
        TEST_DATABASE_KIND: embedded ? "embedded" : "server",
        // A fixed test keyring (never used outside tests): "test" encrypts, "old" only decrypts.
        ENCRYPTION_KEYS:
          process.env.ENCRYPTION_KEYS ??
          `test:${Buffer.alloc(32, 7).toString("base64")},old:${Buffer.alloc(32, 9).toString("base64")}`,
      },
    },
  );
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  await embedded?.stop();
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
