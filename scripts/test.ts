import { spawn } from "node:child_process";
import { globSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { runMigrations } from "@/lib/db/migrate";
import { startEmbeddedPostgres } from "@/lib/db/embedded";
import { findLeakedSecrets } from "./find-leaked-secrets";

// `npm test`: against DATABASE_URL when set (its schema is reset first), else against an
// embedded PostgreSQL started for the run. Test files run one at a time (they share the database).
// Everything the suite prints is also scanned for the secrets it uses: a leak fails the run. So
// is the output of the processes tests spawn (workers, web servers): test/child-output.ts sends
// it to the file named in TEST_CHILD_OUTPUT.
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
  const keyring =
    process.env.ENCRYPTION_KEYS ??
    `test:${Buffer.alloc(32, 7).toString("base64")},old:${Buffer.alloc(32, 9).toString("base64")}`;
  const captureDir = mkdtempSync(path.join(os.tmpdir(), "dc-test-output-"));
  const childOutput = path.join(captureDir, "children.log");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
    {
      stdio: ["inherit", "pipe", "pipe"],
      env: {
        ...process.env,
        DATABASE_URL: url,
        TEST_DATABASE_KIND: embedded ? "embedded" : "server",
        TEST_CHILD_OUTPUT: childOutput,
        // A fixed test keyring (never used outside tests): "test" encrypts, "old" only decrypts.
        ENCRYPTION_KEYS: keyring,
      },
    },
  );
  const leaks: string[] = [];
  const pending = { stdout: "", stderr: "" };
  for (const name of ["stdout", "stderr"] as const) {
    child[name]!.on("data", (chunk: Buffer) => {
      process[name].write(chunk);
      const lines = (pending[name] + chunk.toString("utf8")).split("\n");
      pending[name] = lines.pop() ?? "";
      leaks.push(...findLeakedSecrets(lines.join("\n"), keyring));
    });
  }
  let code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  leaks.push(...findLeakedSecrets(pending.stdout + "\n" + pending.stderr, keyring));
  const spawned = readFileSync(childOutput, { encoding: "utf8", flag: "a+" });
  leaks.push(...findLeakedSecrets(spawned, keyring).map((line) => `(a spawned process) ${line}`));
  rmSync(captureDir, { recursive: true, force: true });
  await embedded?.stop();
  if (leaks.length > 0) {
    console.error(`[test] ${leaks.length} printed line(s) contain a secret the suite uses (masked here):`);
    for (const line of leaks.slice(0, 20)) console.error(`  ${line}`);
    code = 1;
  }
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
