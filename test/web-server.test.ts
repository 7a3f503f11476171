import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import { sealWebhookSecret } from "@/lib/connectors/provider-token";
import { syncJobs, webhookEvents } from "@/lib/db/schema";
import { freePort } from "./fakes/free-port";
import { exited, killOnExit } from "./fakes/worker-process";
import { closeAll, db, resetDb, waitFor } from "./helpers";

// server.ts, the web server `npm start` runs: Next.js for pages and the API, and the webhook
// routes' own handlers called directly. Needs the built app, as CI builds before the tests.
const built = existsSync(path.join(process.cwd(), ".next", "BUILD_ID"));
const SECRET = "web-server-test-secret";

describe("the web server (server.ts)", { skip: built ? false : "needs the built app (`npm run build`)" }, () => {
  let web: ChildProcess;
  let base: string;
  let sourceId: string;

  before(async () => {
    await resetDb();
    sourceId = randomUUID();
    await db().execute(sql`insert into sources (id, type, name, config, status, webhook_secret)
      values (${sourceId}, 'github', 'octo/web', ${JSON.stringify({ repo: "octo/web", branch: "main" })}::jsonb, 'synced', ${sealWebhookSecret(sourceId, SECRET)})`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    web = spawn(process.execPath, ["--import", "tsx", "server.ts", "-p", String(port), "-H", "127.0.0.1"], {
      env: process.env,
      stdio: "ignore",
    });
    killOnExit(web);
    await waitFor(
      () =>
        fetch(`${base}/api/health`).then(
          (r) => r.ok,
          () => false,
        ),
      { timeoutMs: 60_000, intervalMs: 100, what: "server.ts" },
    );
  });
  after(async () => {
    web?.kill("SIGTERM");
    if (web) await exited(web);
    await closeAll();
  });

  const push = (deliveryId: string, secret = SECRET) => {
    const body = JSON.stringify({
      ref: "refs/heads/main",
      before: "a",
      after: "b",
      commits: [],
      repository: { full_name: "octo/web" },
    });
    return fetch(`${base}/api/webhooks/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": deliveryId,
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    });
  };

  test("pages and the API go through Next.js: a page without a session redirects, the API wants a token", async () => {
    const page = await fetch(`${base}/sources`, { redirect: "manual" });
    assert.equal(page.status, 307);
    assert.match(page.headers.get("location") ?? "", /\/sign-in$/);
    assert.equal((await fetch(`${base}/api/sources`)).status, 401);
  });

  test("a signed push is recorded once and queues one sync; a redelivery is a duplicate; a bad signature a 401", async () => {
    const id = randomUUID();
    const first = await push(id);
    assert.equal(first.status, 202);
    assert.deepEqual(await first.json(), { received: true, duplicate: false, queued: 1 });
    const again = await push(id);
    assert.equal(again.status, 202);
    assert.equal((await again.json()).duplicate, true);
    const forged = await push(randomUUID(), "not-the-secret");
    assert.equal(forged.status, 401);
    assert.equal(forged.headers.get("content-type"), "application/problem+json");
    const events = await db().select().from(webhookEvents).where(eq(webhookEvents.deliveryId, id));
    assert.equal(events.length, 1);
    const queued = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
    assert.equal(queued.length, 1);
  });

  test("the direct routes keep the routes' answers: 415, 413 before reading a huge body, the Dropbox challenge, 405 from Next", async () => {
    const wrongType = await fetch(`${base}/api/webhooks/github`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    assert.equal(wrongType.status, 415);
    assert.match((await wrongType.json()).detail, /application\/json/);
    const huge = await fetch(`${base}/api/webhooks/github`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.alloc(26 * 1024 * 1024, 32),
    });
    assert.equal(huge.status, 413);
    const challenge = await fetch(`${base}/api/webhooks/dropbox?challenge=abc123`);
    assert.equal(challenge.status, 200);
    assert.equal(await challenge.text(), "abc123");
    assert.equal(challenge.headers.get("x-content-type-options"), "nosniff");
    assert.equal((await fetch(`${base}/api/webhooks/github`, { method: "PUT" })).status, 405);
  });

  test("SIGTERM stops it cleanly", async () => {
    await waitFor(async () => (await fetch(`${base}/api/health`)).ok, { what: "health" });
    web.kill("SIGTERM");
    await exited(web);
    assert.equal(web.exitCode, 0);
  });
});
