import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { freePort } from "./fakes/free-port";
import { tempDir, waitFor, writeTree } from "./helpers";
import { childOutput } from "./child-output";

const run = promisify(execFile);

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (c) => resolve(c)),
  );

test(
  "npm start on an empty DATA_DIR without DATABASE_URL is healthy, and its data survives a restart",
  { timeout: 600_000 },
  async () => {
    const dataDir = tempDir("dc-start-data-");
    const roots = tempDir("dc-start-roots-");
    writeTree(path.join(roots, "repo"), { "main.py": "print('hi')\n" });
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      LOCAL_SOURCE_ROOTS: roots,
      ADMIN_EMAIL: "admin@example.com",
      ADMIN_PASSWORD: "correct horse battery staple",
    };
    delete env.DATABASE_URL;
    const base = `http://127.0.0.1:${port}`;
    const start = () =>
      spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
        env,
        stdio: ["ignore", childOutput(), "inherit"],
      });
    const healthy = () =>
      waitFor(async () => (await fetch(`${base}/api/health`).catch(() => null))?.ok, {
        timeoutMs: 300_000,
        intervalMs: 250,
        what: "a healthy /api/health",
      });

    let app = start();
    let token: string;
    try {
      await healthy();
      // The CLI finds the running app's embedded database.
      const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/cli.ts", "tokens", "create", "ci"], {
        env,
      });
      token = stdout.trim().split("\n").at(-1)!;
      const created = await fetch(`${base}/api/sources`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "local", name: "repo", config: { path: path.join(roots, "repo") } }),
      });
      assert.equal(created.status, 201);
      await waitFor(
        async () => {
          const res = await fetch(`${base}/api/sources`, { headers: { authorization: `Bearer ${token}` } });
          const body = await res.json();
          return body.sources[0]?.status === "synced";
        },
        { timeoutMs: 60_000, what: "the source to be synced by the worker" },
      );
      // The dashboard is behind sign-in; ADMIN_EMAIL/ADMIN_PASSWORD made the admin, so no setup page.
      const page = await fetch(base, { redirect: "manual" });
      assert.equal(page.status, 307);
      assert.match(page.headers.get("location") ?? "", /\/sign-in$/);
    } finally {
      app.kill("SIGTERM");
      assert.equal(await exited(app), 0, "SIGTERM stops everything cleanly");
    }

    app = start();
    try {
      await healthy();
      // The worker reconciles every local source at start: synced again once that is done.
      const body = await waitFor(
        async () => {
          const res = await fetch(`${base}/api/sources`, { headers: { authorization: `Bearer ${token}` } });
          const json = await res.json();
          return json.sources[0]?.status === "synced" ? json : null;
        },
        { timeoutMs: 60_000, what: "the source to be synced after the restart" },
      );
      assert.equal(body.sources.length, 1);
      assert.equal(body.sources[0].fileCount, 1);
    } finally {
      app.kill("SIGTERM");
      await exited(app);
    }
  },
);
