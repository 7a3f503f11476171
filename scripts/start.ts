import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createFirstAdmin, hasAnyUser } from "@/lib/auth/first-admin";
import { closeDb, getDb } from "@/lib/db/client";
import { runMigrations } from "@/lib/db/migrate";
import { dataDir, resolveDatabase } from "@/lib/db/resolve-database";
import { WORKER_NODE_ARGS } from "@/lib/queue/worker-command";
import { GENERATED_KEYS_FILE, generateKeyringValue, getKeyring } from "@/lib/oauth/encryption";
import { errorField, logger } from "@/lib/log";

// `npm start`: the database (embedded unless DATABASE_URL is set), migrations, a build when
// none exists, then the web server and the worker as two processes, each restarted (with
// backoff) when it exits. SIGINT/SIGTERM stop all.
// `npm start -- --no-worker` runs the web server alone (workers run elsewhere: `npm run worker`).
const root = process.cwd();
const withWorker = !process.argv.includes("--no-worker");
const port = Number(process.env.PORT || 3000);
const nextBin = path.join(root, "node_modules", "next", "dist", "bin", "next");
const log = logger.child({ component: "start" });

function run(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function waitForHealth(url: string, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

/**
 * Provider tokens are stored encrypted. On a laptop (embedded database) a key is generated
 * into DATA_DIR on first run; against a real database the operator must provide one, since a
 * key lost with a container would make every stored token unreadable.
 */
function ensureEncryptionKeys(embedded: boolean): void {
  if (process.env.ENCRYPTION_KEYS?.trim()) {
    getKeyring();
    return;
  }
  const file = path.join(dataDir(), GENERATED_KEYS_FILE);
  if (!existsSync(file)) {
    if (!embedded) {
      throw new Error(
        "ENCRYPTION_KEYS is not set. With DATABASE_URL, set ENCRYPTION_KEYS=kid:base64key (e.g. main:$(openssl rand -base64 32)) and keep it safe: provider tokens are encrypted with it.",
      );
    }
    mkdirSync(dataDir(), { recursive: true });
    writeFileSync(file, generateKeyringValue() + "\n", { mode: 0o600 });
    log.info({ file }, "generated an encryption key (set ENCRYPTION_KEYS to use your own)");
  }
  process.env.ENCRYPTION_KEYS = readFileSync(file, "utf8").trim();
  getKeyring();
}

/**
 * ADMIN_EMAIL and ADMIN_PASSWORD create the first admin without the setup page. With any user
 * already present they do nothing, so leaving them set is harmless.
 */
async function ensureFirstAdmin(url: string): Promise<void> {
  const email = process.env.ADMIN_EMAIL?.trim();
  const password = process.env.ADMIN_PASSWORD;
  if (!email && !password) return;
  if (!email || !password)
    throw new Error("Set both ADMIN_EMAIL and ADMIN_PASSWORD (or neither, and use the setup page).");
  process.env.DATABASE_URL = url;
  try {
    const admin = await createFirstAdmin({ email, password }).catch((err: unknown) => {
      const issues = (err as { issues?: { message: string }[] }).issues;
      throw issues ? new Error(`ADMIN_EMAIL/ADMIN_PASSWORD: ${issues.map((i) => i.message).join(" ")}`) : err;
    });
    if (admin) log.info({ email: admin.email }, "created the first admin");
    else log.info("users exist already: ADMIN_EMAIL/ADMIN_PASSWORD ignored");
  } finally {
    await closeDb();
  }
}

/**
 * While no user exists, first-run setup answers only from loopback, and the web server listens
 * beyond it: setup from elsewhere needs SETUP_TOKEN, generated here unless set, and printed.
 */
async function announceSetup(url: string): Promise<void> {
  process.env.DATABASE_URL = url;
  try {
    if (await hasAnyUser(getDb())) return;
  } finally {
    await closeDb();
  }
  process.env.SETUP_TOKEN ||= randomBytes(24).toString("base64url");
  log.info(
    `no user yet: open http://localhost:${port}/setup on this machine, or from another one http://<this host>:${port}/setup?token=${process.env.SETUP_TOKEN}`,
  );
}

async function main(): Promise<void> {
  const { url, embedded } = await resolveDatabase({ publish: true });
  ensureEncryptionKeys(embedded !== null || existsSync(path.join(dataDir(), "embedded-database-url")));
  if (embedded) log.info({ dataDir: dataDir() }, "embedded PostgreSQL");
  else log.info("using DATABASE_URL");
  await runMigrations(url);
  await ensureFirstAdmin(url);
  await announceSetup(url);

  if (!existsSync(path.join(root, ".next", "BUILD_ID"))) {
    log.info("no build found: building the app once (next build)…");
    const code = await waitForExit(run([nextBin, "build"], process.env));
    if (code !== 0) throw new Error("next build failed");
  }

  const env = { ...process.env, DATABASE_URL: url, PORT: String(port) };
  const webArgs = ["--import", "tsx", "server.ts", "-p", String(port)];
  let web = run(webArgs, env);
  let worker: ChildProcess | null = withWorker ? run(WORKER_NODE_ARGS, env) : null;
  if (!worker) log.info("--no-worker: syncs wait for a worker started elsewhere (npm run worker)");
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of [web, worker]) child?.kill("SIGTERM");
    await Promise.all([waitForExit(web), worker && waitForExit(worker)]);
    await embedded?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  // A child that exits is started again, after 1 s, then 2 s, 4 s... up to 30 s while it keeps
  // exiting; one that ran for a minute starts again from 1 s. Neither stops the other.
  const supervise = (name: string, args: string[], child: ChildProcess, replace: (next: ChildProcess) => void) => {
    let failures = 0;
    const watch = (current: ChildProcess) => {
      const startedAt = Date.now();
      current.on("exit", (code, signal) => {
        if (stopping) return;
        failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
        const delay = Math.min(30_000, 1000 * 2 ** (failures - 1));
        log.error(
          { process: name, pid: current.pid, code, signal, restartInSeconds: delay / 1000 },
          `the ${name} ${signal ? `was killed by ${signal}` : `exited with code ${code}`} (its last lines above say why); restarting it in ${delay / 1000} s`,
        );
        setTimeout(() => {
          if (stopping) return;
          const next = run(args, env);
          replace(next);
          watch(next);
        }, delay);
      });
    };
    watch(child);
  };
  supervise("web server", webArgs, web, (next) => (web = next));
  if (worker) supervise("worker", WORKER_NODE_ARGS, worker, (next) => (worker = next));

  if (await waitForHealth(`http://127.0.0.1:${port}/api/health`, Date.now() + 120_000)) {
    log.info({ url: `http://localhost:${port}` }, "ready");
  } else {
    log.error("the app did not become healthy within 2 minutes");
  }
}

main().catch((err) => {
  log.fatal({ error: errorField(err) }, "npm start failed");
  process.exit(1);
});
