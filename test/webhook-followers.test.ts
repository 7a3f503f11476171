import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import * as githubWebhook from "@/app/api/webhooks/github/route";
import { sealWebhookSecret } from "@/lib/connectors/provider-token";
import { sources } from "@/lib/db/schema";
import { followerCacheListening } from "@/lib/webhooks/followers";
import { closeAll, db, resetDb, waitFor } from "./helpers";

after(() => closeAll());

const REPO = "octo/cached";

async function addSource(secret: string): Promise<string> {
  const id = randomUUID();
  await db()
    .insert(sources)
    .values({
      id,
      type: "github",
      name: REPO,
      config: { repo: REPO, branch: "main" },
      status: "synced",
      webhookSecret: sealWebhookSecret(id, secret),
    });
  return id;
}

async function push(secret: string): Promise<{ status: number; json: { queued?: number } }> {
  const body = JSON.stringify({
    ref: "refs/heads/main",
    before: "a",
    after: "b",
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
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
      },
      body,
    }),
  );
  return { status: res.status, json: await res.json() };
}

test("the followers cache follows every change to sources: a rotated secret, a new follower, a deleted one", async () => {
  await resetDb();
  const first = await addSource("secret-one");
  assert.equal((await push("secret-one")).json.queued, 1);
  if (process.env.TEST_DATABASE_KIND === "server") {
    // PostgreSQL delivers notifications: lookups are cached from here on.
    await waitFor(async () => followerCacheListening(), { what: "the followers cache to listen" });
  }
  assert.equal((await push("secret-one")).json.queued, 1);

  // A rotated secret works at once (a signature no cached secret matches asks the database).
  await db()
    .update(sources)
    .set({ webhookSecret: sealWebhookSecret(first, "secret-two") })
    .where(eq(sources.id, first));
  const rotated = await push("secret-two");
  assert.equal(rotated.status, 202);
  assert.equal(rotated.json.queued, 1);
  assert.equal((await push("secret-one")).status, 401, "the old secret is refused");

  // A second source following the repository gets the pushes too (two waiting syncs).
  await addSource("secret-two");
  await waitFor(async () => (await push("secret-two")).json.queued === 2, {
    timeoutMs: 5_000,
    what: "the new follower to be seen",
  });

  // A deleted source never turns a push into an error, even right after the delete.
  await db().delete(sources).where(eq(sources.id, first));
  const afterDelete = await push("secret-two");
  assert.equal(afterDelete.status, 202);
  assert.equal(afterDelete.json.queued, 1);
  const events = await db().execute<{ n: number }>(
    sql`select count(*)::int as n from webhook_events where source_id = ${first}::uuid`,
  );
  assert.equal(events.rows[0]!.n, 0, "the deleted source's events went with it");
});
