import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import * as githubWebhook from "@/app/api/webhooks/github/route";
import { sealWebhookSecret } from "@/lib/oauth/provider-token";
import { sources } from "@/lib/db/schema";
import { candidateCacheListening } from "@/lib/webhooks/webhook-candidates";
import { closeAll, db, resetDb, waitFor } from "./helpers";

after(() => closeAll());

const REPO = "octo/cached";

async function addSource(hookId: string, secret: string): Promise<string> {
  const id = randomUUID();
  await db()
    .insert(sources)
    .values({
      id,
      type: "github",
      name: REPO,
      config: { repo: REPO, branch: "main" },
      status: "synced",
      webhookId: hookId,
      webhookSecret: sealWebhookSecret(id, secret),
    });
  return id;
}

async function push(hookId: string, secret: string): Promise<{ status: number; json: { queued?: number } }> {
  const body = JSON.stringify({
    ref: "refs/heads/main",
    before: "a",
    after: randomUUID(),
    commits: [],
    repository: { full_name: REPO },
  });
  const res = await githubWebhook.POST(
    new Request("http://localhost/api/webhooks/github", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": randomUUID(),
        "x-github-hook-id": hookId,
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    }),
  );
  return { status: res.status, json: await res.json() };
}

test("the webhook candidates cache follows every change to sources: a rotated secret, a new hook, a deleted source", async () => {
  await resetDb();
  const first = await addSource("101", "secret-one");
  assert.equal((await push("101", "secret-one")).json.queued, 1);
  if (process.env.TEST_DATABASE_KIND === "server") {
    // PostgreSQL delivers notifications: lookups are cached from here on.
    await waitFor(async () => candidateCacheListening(), { what: "the candidates cache to listen" });
  }
  assert.equal((await push("101", "secret-one")).json.queued, 1);

  // A rotated secret works at once (a signature no cached secret matches asks the database).
  await db()
    .update(sources)
    .set({ webhookSecret: sealWebhookSecret(first, "secret-two") })
    .where(eq(sources.id, first));
  const rotated = await push("101", "secret-two");
  assert.equal(rotated.status, 202);
  assert.equal(rotated.json.queued, 1);
  assert.equal((await push("101", "secret-one")).status, 401, "the old secret is refused");

  // A hook refused before it was stored works once it is (the cache hears the change).
  assert.equal((await push("102", "secret-three")).status, 401);
  await addSource("102", "secret-three");
  await waitFor(async () => (await push("102", "secret-three")).status === 202, {
    timeoutMs: 5_000,
    what: "the new hook to be seen",
  });

  // A deleted source's hook is refused, even right after the delete, and never an error.
  await db().delete(sources).where(eq(sources.id, first));
  assert.equal((await push("101", "secret-two")).status, 401);
  const events = await db().execute<{ n: number }>(
    sql`select count(*)::int as n from webhook_events where source_id = ${first}::uuid`,
  );
  assert.equal(events.rows[0]!.n, 0, "the deleted source's events went with it");
});
