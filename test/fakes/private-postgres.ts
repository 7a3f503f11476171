import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./free-port";

const BIN = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";

export function privatePostgresAvailable(): string | null {
  if (!existsSync(path.join(BIN, "initdb"))) return `no PostgreSQL binaries at ${BIN} (set PG_BIN_DIR)`;
  if (process.getuid?.() === 0) {
    try {
      execFileSync("id", ["postgres"], { stdio: "ignore" });
    } catch {
      return "running as root and there is no postgres OS user to own the cluster";
    }
  }
  return null;
}

/**
 * A throw-away PostgreSQL cluster of this test alone (initdb + pg_ctl), so that it can be
 * restarted without touching the shared server. As root, it runs as the postgres OS user.
 */
export async function startPrivatePostgres() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dc-pgpriv-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const ids = execFileSync("id", ["-u", "postgres"]).toString().trim();
    const gid = execFileSync("id", ["-g", "postgres"]).toString().trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  const run = (bin: string, args: string[]) =>
    execFileSync(
      asRoot ? "runuser" : path.join(BIN, bin),
      asRoot ? ["-u", "postgres", "--", path.join(BIN, bin), ...args] : args,
      { stdio: "pipe" },
    );
  const port = await freePort();
  const data = path.join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const options = [
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`,
    "-l",
    path.join(dir, "log"),
  ];
  const ctl = (...args: string[]) => run("pg_ctl", ["-D", data, "-w", ...args]);
  ctl("start", ...options);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    /** `fast` disconnects every client and shuts down cleanly; `immediate` is a crash. */
    stop: (mode: "fast" | "immediate" = "fast") => ctl("stop", "-m", mode),
    start: () => ctl("start", ...options),
    restart: (mode: "fast" | "immediate" = "fast") => ctl("restart", "-m", mode, ...options),
    destroy() {
      try {
        ctl("stop", "-m", "immediate");
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
