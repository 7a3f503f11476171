import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";

// One admin's first session, in order: each test continues where the previous one stopped.
test.describe.configure({ mode: "serial" });

const ADMIN = { email: "admin@example.com", password: "correct horse battery staple" };
const ROOT = path.join(process.env.E2E_DIR!, "roots");
const FOLDER = path.join(ROOT, "project");
const FILE_COUNT = 1500;
const ARTIFACTS = path.join("e2e", "artifacts", "pages");

let context: BrowserContext;
let page: Page;
let sourceUrl = "";

/** Every page the suite visits is kept as a screenshot artifact. */
async function snap(name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await test.info().attach(name, { path: file, contentType: "image/png" });
}

function writeProject() {
  mkdirSync(path.join(FOLDER, "src", "lib"), { recursive: true });
  writeFileSync(
    path.join(FOLDER, "src", "greet.ts"),
    [
      "// Greets someone.",
      "export function greet(name: string): string {",
      "  return `Hello, ${name}!`;",
      "}",
      "",
    ].join("\n"),
  );
  writeFileSync(path.join(FOLDER, "README.md"), "# Project\n\nA folder indexed by the e2e suite.\n");
  // Enough files that the sync takes a moment and its progress can be watched.
  for (let i = 0; i < FILE_COUNT; i++) {
    writeFileSync(
      path.join(FOLDER, "src", "lib", `module-${String(i).padStart(4, "0")}.ts`),
      `export const value${i} = ${i};\n`,
    );
  }
}

test.beforeAll(async ({ browser }) => {
  writeProject();
  context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("first-run setup creates the admin and signs in", async () => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Set up Data Connector" })).toBeVisible();
  await snap("01-setup");
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password (at least 12 characters)").fill(ADMIN.password);
  await page.getByLabel("Password again").fill(ADMIN.password);
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Sources" })).toBeVisible();
  await expect(page.getByText("No sources yet")).toBeVisible();
  await snap("02-sources-empty");
});

test("sign out, then sign in again (a wrong password is refused)", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Wrong email or password" })).toBeVisible();
  await snap("03-sign-in-error");
  // An error code named like an object's own property is an unknown code, not its value.
  for (const code of ["constructor", "__proto__", "toString"]) {
    await page.goto(`/sign-in?error=${code}`);
    await expect(page.locator("p[role=alert]")).toHaveText("Sign-in failed. Try again.");
  }
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Sources" })).toBeVisible();
  // npm start runs a worker: no warning, and the activity indicator counts it.
  await expect(page.getByTestId("no-worker-banner")).toHaveCount(0);
  await page.getByTestId("activity").locator("summary").click();
  await expect(page.getByTestId("activity")).toContainText("1 worker live");
  await page.getByTestId("activity").locator("summary").click();
});

test("connect a local folder: a bad folder is refused beside its field, then the sync runs to 100%", async () => {
  await page.getByRole("link", { name: "Connect your first source" }).click();
  await expect(page.getByRole("heading", { name: "Connect a source" })).toBeVisible();
  await page.getByRole("radio", { name: "Local folder" }).check();
  await page.getByLabel("Name", { exact: true }).fill("project");
  await page.getByLabel("Folder", { exact: true }).fill("/etc");
  await snap("04-connect-form");
  await page.getByRole("button", { name: "Create source" }).click();
  const folderError = page.getByTestId("field-error");
  await expect(folderError).toContainText("is not a folder local sources may read");
  await expect(page.getByLabel("Folder", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await snap("05-connect-validation");

  await page.getByLabel("Folder", { exact: true }).fill(FOLDER);
  await page.getByLabel("Exclude", { exact: true }).fill("**/*.log");
  await page.getByRole("button", { name: "Create source" }).click();
  await expect(page).toHaveURL(/\/sources\/[0-9a-f-]{36}$/);
  sourceUrl = new URL(page.url()).pathname;
  await expect(page.getByRole("heading", { name: "project", level: 1 })).toBeVisible();

  // Watch the live progress: record what the bar says until the sync completes.
  const seen = new Set<number>();
  await expect
    .poll(
      async () => {
        const bar = page.getByRole("progressbar", { name: "Sync progress of project" });
        if (await bar.isVisible().catch(() => false)) {
          // Short timeout: the bar goes away when the sync ends, and a locator would wait for it.
          const value = Number(await bar.getAttribute("aria-valuenow", { timeout: 500 }).catch(() => NaN));
          if (Number.isFinite(value)) {
            if (seen.size === 0) await snap("06-source-syncing");
            seen.add(value);
          }
        }
        return page
          .getByTestId("latest-job-status")
          .textContent({ timeout: 1000 })
          .catch(() => null);
      },
      // Generous: on a loaded 2-core CI machine the embedded database makes this sync slow.
      { timeout: 240_000, intervals: [200] },
    )
    .toBe("completed");
  test.info().annotations.push({
    type: "progress seen",
    description: [...seen].sort((a, b) => a - b).join(", ") || "(finished before the first poll)",
  });
  await expect(page.getByTestId("source-status")).toHaveText("synced");
  await expect(page.getByTestId("file-count")).toHaveText((FILE_COUNT + 2).toLocaleString("en"));
  await expect(page.getByTestId("file-row").first()).toBeVisible();
  await snap("07-source-synced");

  // The job page shows the finished job at 100%.
  await page.getByRole("link", { name: /full sync/ }).click();
  await expect(page.getByTestId("job-status")).toHaveText("completed");
  await expect(page.getByRole("progressbar", { name: "Job progress" })).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByTestId("progress-text")).toContainText(
    `${(FILE_COUNT + 2).toLocaleString("en")} of ${(FILE_COUNT + 2).toLocaleString("en")} files`,
  );
  await expect(page.getByText("No file failed.")).toBeVisible();
  await snap("08-job");

  // The sources list shows it synced, with its file count and last sync time.
  await page.getByRole("link", { name: "Sources", exact: true }).first().click();
  const row = page.getByTestId("source-row").filter({ hasText: "project" });
  await expect(row.getByTestId("source-status")).toHaveText("synced");
  await expect(row.getByTestId("file-count")).toHaveText(`${(FILE_COUNT + 2).toLocaleString("en")} files`);
  await expect(row.locator("time")).toHaveAttribute("title", /UTC$/);
  await snap("09-sources");
});

test("browse the files, open one and see its content and chunks", async () => {
  await page.goto(sourceUrl);
  await page.getByLabel("Filter by path prefix").fill("src/g");
  await expect(page.getByTestId("file-row")).toHaveCount(1);
  await page.getByLabel("Filter by language").selectOption("typescript");
  await expect(page.getByTestId("file-row")).toHaveCount(1);
  await snap("10-file-browser-filtered");
  await page.getByRole("link", { name: "src/greet.ts" }).click();
  await expect(page.getByRole("heading", { name: "src/greet.ts" })).toBeVisible();
  await expect(page.getByTestId("file-content")).toContainText("return `Hello, ${name}!`;");
  // The text once, its chunks marked in the gutter.
  await expect(page.locator("[data-chunk-start] td").first()).toHaveAttribute("title", /^Chunk 1 · lines 1–/);
  await snap("11-file");
});

test("edit the file on disk: the watcher's incremental sync brings the change", async () => {
  writeFileSync(
    path.join(FOLDER, "src", "greet.ts"),
    [
      "// Greets someone, politely.",
      "export function greet(name: string): string {",
      "  return `Good morning, ${name}.`;",
      "}",
      "",
    ].join("\n"),
  );
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("file-content")).toContainText("Good morning", { timeout: 1000 });
  }).toPass({ timeout: 60_000, intervals: [500, 1000] });
  await snap("12-file-after-edit");
  await page.goto(sourceUrl);
  const watcherJob = page.getByTestId("job-row").filter({ hasText: "watcher" }).first();
  await expect(watcherJob).toContainText("incremental");
  await expect(watcherJob).toContainText("completed");
  await snap("13-source-after-edit");
});

test("create an API token, copy it, use it, and revoke it", async () => {
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expect(page.getByTestId("account-email")).toHaveText(ADMIN.email);
  await page.getByLabel("Token name").fill("e2e-service");
  await page.getByRole("button", { name: "Create token" }).click();
  const shown = page.locator("code", { hasText: /^dc_/ });
  await expect(shown).toBeVisible();
  const token = (await shown.textContent())!.trim();
  await page.getByRole("button", { name: "Copy" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
  await snap("14-settings-token-created");

  const api = (t: string) => page.request.get("/api/sources", { headers: { authorization: `Bearer ${t}` } });
  expect((await api(token)).status()).toBe(200);

  await page.getByRole("button", { name: "Revoke e2e-service" }).click();
  await expect(page.getByTestId("token-row").filter({ hasText: "e2e-service" })).toContainText("revoked");
  expect((await api(token)).status()).toBe(401);
  await snap("15-settings-token-revoked");

  for (const code of ["constructor", "__proto__", "access_denied"]) {
    await page.goto(`/settings?oauth_error=${code}&provider=github`);
    const alert = page.locator("p[role=alert]");
    await expect(alert).toContainText(`GitHub answered ${code}`);
    if (code !== "access_denied") await expect(alert).toHaveText(`GitHub answered ${code}; nothing was connected.`);
  }
});

test("the pages work on a phone and in dark mode", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto("/");
  await expect(page.getByTestId("source-row")).toHaveCount(1);
  // Nothing is wider than the phone's screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await snap("16-phone-dark-sources");
  await page.goto(sourceUrl);
  await expect(page.getByRole("heading", { name: "project", level: 1 })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await snap("17-phone-dark-source");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "light" });
});

test("a folder emptied under the index is held back until the deletions are confirmed", async () => {
  // Like an unmounted disk: the watcher sees 1,500 files go, the sync removes none.
  renameSync(path.join(FOLDER, "src", "lib"), path.join(process.env.E2E_DIR!, "lib-moved"));
  await page.goto(sourceUrl);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("source-status")).toHaveText("error", { timeout: 1000 });
  }).toPass({ timeout: 60_000, intervals: [500, 1000] });
  await expect(page.getByTestId("source-status-detail")).toContainText(`would delete ${FILE_COUNT} files`);
  await expect(page.getByTestId("file-count")).toHaveText((FILE_COUNT + 2).toLocaleString("en"));
  await snap("18-deletions-held-back");
  await page.getByRole("button", { name: "Delete and sync…" }).click();
  const dialog = page.getByRole("dialog", { name: "Remove the missing files?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Delete and sync" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("source-status")).toHaveText("synced", { timeout: 60_000 });
  await expect(page.getByTestId("file-count")).toHaveText("2");
  await expect(page.getByTestId("source-status-detail")).toHaveCount(0);
  await snap("19-deletions-confirmed");
});

test("re-deliver all files after a confirmation: a redeliver job sends every file again", async () => {
  await page.goto(sourceUrl);
  const sourceId = sourceUrl.split("/").at(-1)!;
  await page.getByRole("button", { name: "Re-deliver all files…" }).click();
  const dialog = page.getByRole("dialog", { name: "Re-deliver all files of project?" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("2 indexed files");
  await snap("20-redeliver-confirmation");
  // Keyboard: Escape closes the dialog and nothing is queued.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  const redeliveries = async () =>
    ((await (await page.request.get(`/api/jobs?sourceId=${sourceId}&type=redeliver`)).json()).jobs ?? []) as {
      status: string;
      filesTotal: number;
      filesProcessed: number;
    }[];
  expect(await redeliveries()).toHaveLength(0);
  await page.getByRole("button", { name: "Re-deliver all files…" }).click();
  await dialog.getByRole("button", { name: "Re-deliver all files" }).click();
  await expect(dialog).toBeHidden();
  await expect(async () => {
    const jobs = await redeliveries();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: "completed", filesTotal: 2, filesProcessed: 2 });
  }).toPass({ timeout: 60_000, intervals: [500, 1000] });
});

test("delete the source after a confirmation that says what goes", async () => {
  await page.goto(sourceUrl);
  await page.getByRole("button", { name: "Delete…" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete project?" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId("delete-summary")).toContainText("2 indexed files");
  await expect(dialog.getByTestId("delete-summary")).toContainText("The folder on disk is not touched.");
  await snap("20-delete-confirmation");
  // Keyboard: Escape closes the dialog without deleting.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await page.getByRole("button", { name: "Delete…" }).click();
  await dialog.getByRole("button", { name: "Delete project" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText("No sources yet")).toBeVisible();
  await snap("21-sources-after-delete");
  expect((await page.request.get(`/api${sourceUrl}`)).status()).toBe(404);
});
