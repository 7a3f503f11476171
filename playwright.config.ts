import { mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";

// The suite runs the app as a user starts it: `npm start` on an empty data folder, with the
// embedded PostgreSQL (no DATABASE_URL) and one folder that local sources may read. The runner
// evaluates this file first and its workers inherit the environment it sets here.
if (!process.env.E2E_DIR) {
  process.env.E2E_DIR = mkdtempSync(path.join(os.tmpdir(), "dc-e2e-"));
  process.env.E2E_PORT ??= String(20_000 + Math.floor(Math.random() * 20_000));
  mkdirSync(path.join(process.env.E2E_DIR, "data"));
  mkdirSync(path.join(process.env.E2E_DIR, "roots"));
}
delete process.env.DATABASE_URL;
const dir = process.env.E2E_DIR;
const port = Number(process.env.E2E_PORT);
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "e2e/artifacts/test-results",
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  timeout: 300_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["html", { outputFolder: "e2e/artifacts/report", open: "never" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], channel: undefined } }],
  webServer: {
    command: "npm start",
    url: `${baseURL}/api/health`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
    env: {
      PORT: String(port),
      DATA_DIR: path.join(dir, "data"),
      LOCAL_SOURCE_ROOTS: path.join(dir, "roots"),
      // No OAuth apps, no public URL: the local folder is the provider under test.
      APP_URL: "",
      AUTH_URL: "",
    },
  },
});
