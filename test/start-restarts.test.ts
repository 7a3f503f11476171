import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { freePort } from "./fakes/free-port";
import { killOnExit } from "./fakes/worker-process";
import { tempDir, waitFor } from "./helpers";
import { captureOutput } from "./child-output";

const run = promisify(execFile);
const built = existsSync(path.join(process.cwd(), ".next", "BUILD_ID"));

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (c) => resolve(c)),
  );

/** The pid of the web server `npm start` runs (its child running server.ts). */
async function webServerPid(startPid: number): Promise<number | null> {
  const { stdout } = await run("ps", ["-o", "pid=,args=", "--ppid", String(startPid)]).catch(() => ({ stdout: "" }));
  const line = stdout.split("\n").find((l) => l.includes("server.ts"));
  return line ? Number(line.trim().split(/\s+/, 1)[0]) : null;
}

test(
  "npm start restarts a web server that was killed, says so, and keeps the app up",
  { timeout: 300_000, skip: built ? false : "needs the built app (`npm run build`)" },
  async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const app = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      env: { ...process.env, PORT: String(port), DATA_DIR: tempDir("dc-start-restart-") },
      stdio: ["ignore", "pipe", "inherit"],
    });
    killOnExit(app);
    captureOutput(app.stdout);
    let stdout = "";
    app.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exits = () =>
      stdout
        .split("\n")
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        })
        .filter((entry) => entry.process === "web server" && typeof entry.restartInSeconds === "number");
    const healthy = () =>
      waitFor(async () => (await fetch(`${base}/api/health`).catch(() => null))?.ok, {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: "a healthy /api/health",
      });
    try {
      await healthy();
      const first = await waitFor(() => webServerPid(app.pid!), { what: "the web server's pid" });
      process.kill(first, "SIGKILL");
      const [exit] = await waitFor(async () => (exits().length > 0 ? exits() : null), {
        timeoutMs: 10_000,
        what: "the restart to be logged",
      });
      assert.equal(exit!.signal, "SIGKILL", "the log line says why it exited");
      assert.equal(exit!.pid, first);
      assert.match(String(exit!.msg), /the web server was killed by SIGKILL .*restarting it/);
      assert.equal(app.exitCode, null, "npm start keeps running");
      await healthy();
      const second = await webServerPid(app.pid!);
      assert.ok(second && second !== first, "a new web server serves");
    } finally {
      app.kill("SIGTERM");
      assert.equal(await exited(app), 0, "SIGTERM still stops everything cleanly");
    }
  },
);
