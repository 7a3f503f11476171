import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect, test, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";

// The dashboard over 300 sources: search, filters, sort, paging and bulk actions on the sources
// page, each reflected in the URL (reload and the back button keep it); the jobs page's filters;
// the file page's highlighting. Runs on its own or after dashboard.spec.ts (same app, same admin).
test.describe.configure({ mode: "serial" });

const ADMIN = { email: "admin@example.com", password: "correct horse battery staple" };
const ROOT = path.join(process.env.E2E_DIR!, "roots", "scale");
const SHARED = path.join(ROOT, "shared");
const DOOMED = path.join(ROOT, "doomed");
/** 297 healthy sources, alpha-000, beta-001, alpha-002, ... and 3 that will fail: broken-1..3. */
const HEALTHY = 297;
const nameOf = (i: number) => `${i % 2 ? "beta" : "alpha"}-${String(i).padStart(3, "0")}`;

let context: BrowserContext;
let page: Page;
let token = "";

const auth = () => ({ authorization: `Bearer ${token}` });
const rows = () => page.getByTestId("source-row");
const names = () => rows().getByRole("link").first();

async function counts(request: APIRequestContext): Promise<Record<string, number>> {
  const res = await request.get("/api/sources?limit=1", { headers: auth() });
  expect(res.status()).toBe(200);
  return ((await res.json()) as { statusCounts: Record<string, number> }).statusCounts;
}

async function createSources(request: APIRequestContext, specs: { name: string; folder: string }[]) {
  for (let i = 0; i < specs.length; i += 25) {
    await Promise.all(
      specs.slice(i, i + 25).map(async ({ name, folder }) => {
        const res = await request.post("/api/sources", {
          headers: auth(),
          data: { type: "local", name, config: { path: folder } },
        });
        expect(res.status(), await res.text()).toBe(201);
      }),
    );
  }
}

test.beforeAll(async ({ browser }) => {
  mkdirSync(SHARED, { recursive: true });
  mkdirSync(DOOMED, { recursive: true });
  writeFileSync(
    path.join(SHARED, "hello.ts"),
    "// Says hello.\nexport function hello(name: string): string {\n  return `Hello, ${name}!`;\n}\n",
  );
  writeFileSync(path.join(DOOMED, "gone.md"), "# Soon gone\n");
  context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("sign in (setting up the admin on a fresh app) and create a token", async () => {
  await page.goto("/");
  const setup = page.getByRole("heading", { name: "Set up Data Connector" });
  await expect(setup.or(page.getByRole("button", { name: "Sign in", exact: true }))).toBeVisible();
  if (await setup.isVisible()) {
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password (at least 12 characters)").fill(ADMIN.password);
    await page.getByLabel("Password again").fill(ADMIN.password);
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
  } else {
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await expect(page.getByRole("heading", { name: "Sources" })).toBeVisible();
  await page.goto("/settings");
  await page.getByLabel("Token name").fill("e2e-scale");
  await page.getByRole("button", { name: "Create token" }).click();
  const shown = page.locator("code", { hasText: /^dc_/ });
  await expect(shown).toBeVisible();
  token = (await shown.textContent())!.trim();
});

test("300 sources: 297 synced and 3 in error", async () => {
  test.setTimeout(600_000);
  const request = page.request;
  await createSources(request, [
    ...Array.from({ length: HEALTHY }, (_, i) => ({ name: nameOf(i), folder: SHARED })),
    ...[1, 2, 3].map((n) => ({ name: `broken-${n}`, folder: DOOMED })),
  ]);
  await expect
    .poll(async () => (await counts(request)).synced, { timeout: 540_000, intervals: [2000] })
    .toBe(HEALTHY + 3);
  // The folder of three goes away: their next full sync fails and puts them in error.
  rmSync(DOOMED, { recursive: true, force: true });
  const broken = await request.get("/api/sources?q=broken-&limit=10", { headers: auth() });
  for (const s of ((await broken.json()) as { sources: { id: string }[] }).sources) {
    const res = await request.post(`/api/sources/${s.id}/sync`, { headers: auth(), data: { type: "full" } });
    expect(res.status()).toBe(202);
  }
  await expect.poll(async () => (await counts(request)).error, { timeout: 120_000 }).toBe(3);
});

test("the first page: errors first, 50 rows, counts per status that filter when clicked", async () => {
  await page.goto("/");
  await expect(rows()).toHaveCount(50);
  await expect(rows().first()).toContainText("broken-1");
  await expect(rows().nth(2)).toContainText("broken-3");
  await expect(rows().nth(3)).toContainText("alpha-000");
  const perStatus = page.getByLabel("Sources per status");
  await expect(perStatus).toContainText("3 error");
  await expect(perStatus).toContainText("297 synced");

  await perStatus.getByRole("button", { name: "3 error" }).click();
  await expect(page).toHaveURL(/[?&]status=error/);
  await expect(rows()).toHaveCount(3);
  await expect(perStatus.getByRole("button", { name: "3 error" })).toHaveAttribute("aria-pressed", "true");
  await page.reload();
  await expect(rows()).toHaveCount(3);
  await page.goBack();
  await expect(page).not.toHaveURL(/status=/);
  await expect(rows()).toHaveCount(50);
});

test("search, type filter and sort, each in the URL", async () => {
  await page.goto("/");
  const search = page.getByLabel("Search sources by name");
  await search.fill("BETA-01");
  await expect(page).toHaveURL(/[?&]q=BETA-01/);
  await expect(rows()).toHaveCount(5);
  for (const n of [11, 13, 15, 17, 19]) await expect(rows().filter({ hasText: nameOf(n) })).toHaveCount(1);
  await page.reload();
  await expect(search).toHaveValue("BETA-01");
  await expect(rows()).toHaveCount(5);

  await page.goto("/");
  await page.getByLabel("Type").selectOption("github");
  await expect(page).toHaveURL(/[?&]type=github/);
  await expect(page.getByText("No source matches these filters.")).toBeVisible();
  await page.getByLabel("Type").selectOption("local");
  await expect(rows()).toHaveCount(50);

  await page.getByLabel("Sort").selectOption("-name");
  await expect(page).toHaveURL(/[?&]sort=-name/);
  await expect(names()).toHaveText("broken-3");
  await page.getByLabel("Sort").selectOption("name");
  await expect(names()).toHaveText("alpha-000");
  await page.goBack();
  await expect(names()).toHaveText("broken-3");
  await expect(page.getByLabel("Sort")).toHaveValue("-name");
});

test("paging: next and previous, reload and the back button", async () => {
  await page.goto("/?sort=name");
  await expect(names()).toHaveText("alpha-000");
  await page.getByRole("link", { name: "Next →" }).click();
  // The 51st alpha name is alpha-100.
  await expect(names()).toHaveText("alpha-100");
  await page.getByRole("link", { name: "Next →" }).click();
  await expect(names()).toHaveText("alpha-200");
  await page.reload();
  await expect(names()).toHaveText("alpha-200");
  await page.getByRole("link", { name: "← Previous" }).click();
  await expect(names()).toHaveText("alpha-100");
  await page.goBack();
  await expect(names()).toHaveText("alpha-200");
  await page.getByRole("link", { name: "← Previous" }).click();
  await expect(names()).toHaveText("alpha-100");
  await page.getByRole("link", { name: "← Previous" }).click();
  await expect(names()).toHaveText("alpha-000");
  await expect(page.getByRole("link", { name: "← Previous" })).toHaveCount(0);
  // Page 6 of 300 sorted by name is the last: 50 rows, no next.
  for (let i = 1; i <= 5; i++) {
    await page.getByRole("link", { name: "Next →" }).click();
    await expect(page).toHaveURL(new RegExp(`(prev=[^&]*&?){${i}}`));
    await expect(names()).not.toHaveText("alpha-000");
  }
  await expect(rows()).toHaveCount(50);
  await expect(page.getByRole("link", { name: "Next →" })).toHaveCount(0);
});

test("bulk actions: sync the selected rows, delete two after confirming", async () => {
  await page.goto("/?q=beta-01");
  await expect(rows()).toHaveCount(5);
  await page.getByLabel("Select all sources on this page").check();
  await page.getByRole("button", { name: "Sync selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Sync queued for 5 sources." })).toBeVisible();

  await page.getByLabel("Select all sources on this page").uncheck();
  await page.getByLabel(`Select ${nameOf(11)}`).check();
  await page.getByLabel(`Select ${nameOf(13)}`).check();
  await page.getByRole("button", { name: "Delete selected…" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete 2 sources?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(rows()).toHaveCount(5);
  await page.getByRole("button", { name: "Delete selected…" }).click();
  await dialog.getByRole("button", { name: "Delete 2 sources" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Deleted 2 sources." })).toBeVisible();
  await expect(rows()).toHaveCount(3);
  await expect(rows().filter({ hasText: nameOf(11) })).toHaveCount(0);
  const left = await page.request.get("/api/sources?q=beta-01", { headers: auth() });
  expect(((await left.json()) as { sources: unknown[] }).sources).toHaveLength(3);
});

test("the jobs page: every job, newest first, filtered by status, trigger and type in the URL", async () => {
  await page.getByRole("link", { name: "Jobs", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Jobs", level: 1 })).toBeVisible();
  const jobRows = page.getByTestId("job-row");
  await expect(jobRows).toHaveCount(50);
  await page.getByLabel("Status").selectOption("failed");
  await expect(page).toHaveURL(/[?&]status=failed/);
  // The full syncs asked for after the folder went away (the watcher may add failed incremental ones).
  await page.getByLabel("Type").selectOption("full");
  await expect(page).toHaveURL(/[?&]type=full/);
  await expect(jobRows).toHaveCount(3);
  for (const n of [1, 2, 3]) await expect(jobRows.filter({ hasText: `broken-${n}` })).toHaveCount(1);
  // A failed job links to its failures (the job's page).
  await expect(jobRows.first().getByRole("link").last()).toHaveAttribute("href", /^\/jobs\/[0-9a-f-]{36}$/);
  await page.getByLabel("Trigger").selectOption("create");
  await expect(page).toHaveURL(/trigger=create/);
  await expect(page.getByText("No job matches these filters.")).toBeVisible();
  await page.goBack();
  await expect(jobRows).toHaveCount(3);
  await page.goto("/jobs?trigger=api&type=full");
  await expect(page.getByLabel("Trigger")).toHaveValue("api");
  // The full syncs asked for through the API (one may have been folded into a sync already waiting).
  await expect(jobRows.first()).toBeVisible();
  for (const row of await jobRows.all()) {
    await expect(row).toContainText("api");
    await expect(row).toContainText("full");
  }
  // The bulk sync's jobs, less those of the two sources deleted since.
  await page.goto("/jobs?trigger=api&type=incremental");
  await expect(jobRows).toHaveCount(3);
  await page.goto("/jobs?trigger=create");
  await expect(jobRows).toHaveCount(50);
  await page.getByRole("link", { name: "Next →" }).click();
  await expect(jobRows).toHaveCount(50);
  await expect(page).toHaveURL(/cursor=/);
});

test("the file page: the text once, highlighted, with line numbers, chunks in the gutter; a local file has no provider link", async () => {
  const res = await page.request.get("/api/sources?q=alpha-000", { headers: auth() });
  const [source] = ((await res.json()) as { sources: { id: string }[] }).sources;
  await page.goto(`/sources/${source!.id}/file?path=hello.ts`);
  await expect(page.getByRole("heading", { name: "hello.ts" })).toBeVisible();
  const content = page.getByTestId("file-content");
  await expect(content).toHaveAttribute("data-highlighted", "true");
  await expect(content).toContainText("export function hello(name: string): string {");
  // Once: the text appears a single time on the page.
  expect(await page.getByText("Says hello.").count()).toBe(1);
  // Keywords carry a theme colour (light, and the dark one as a variable).
  const keyword = content.locator("span", { hasText: /^export$/ }).first();
  await expect(keyword).toHaveAttribute("style", /color:.*--shiki-dark/);
  await expect(content.locator("tr[data-chunk-start] td").first()).toHaveAttribute("title", /^Chunk 1 · lines 1–[45]$/);
  await expect(content.locator("tr").nth(3).locator("td").first()).toHaveText("4");
  await page.getByRole("button", { name: "Copy path" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("hello.ts");
  await expect(page.getByRole("link", { name: /^Open at/ })).toHaveCount(0);
});
