import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";

// The web server alone (`npm start -- --no-worker`, its own data folder): the dashboard must say
// that nothing processes the queue, instead of showing syncs that stay queued with no reason.
const ADMIN = { email: "alone@example.com", password: "correct horse battery staple" };
const port = 40_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;
let app: ChildProcess;

async function healthy(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (app.exitCode !== null) throw new Error(`npm start --no-worker exited (${app.exitCode})`);
    const ok = await fetch(`${base}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("npm start --no-worker did not become healthy");
}

test.beforeAll(async () => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "dc-e2e-no-worker-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DATA_DIR: path.join(dir, "data"),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    APP_URL: "",
    AUTH_URL: "",
  };
  delete env.DATABASE_URL;
  app = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts", "--no-worker"], { env, stdio: "pipe" });
  app.stdout?.resume();
  app.stderr?.resume();
  await healthy(Date.now() + 240_000);
});

test.afterAll(async () => {
  if (!app || app.exitCode !== null) return;
  const exited = new Promise((r) => app.once("exit", r));
  app.kill("SIGTERM");
  await exited;
});

test("with no worker running, every page says so and the activity indicator counts no worker", async ({ page }) => {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Sources" })).toBeVisible();
  await expect(page.getByTestId("no-worker-banner")).toContainText(
    "No worker is running: syncs are queued but nothing processes them",
  );
  await page.getByTestId("activity").locator("summary").click();
  await expect(page.getByTestId("activity")).toContainText("0 workers live");
  await page.goto(`${base}/settings`);
  await expect(page.getByTestId("no-worker-banner")).toBeVisible();
});
