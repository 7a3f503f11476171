import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as dropboxWebhook from "@/app/api/webhooks/dropbox/route";
import { dropboxContentHash } from "@/lib/connectors/dropbox/content-hash";
import { sources, syncJobs, webhookEvents } from "@/lib/db/schema";
import { startWorker, type RunningWorker } from "@/lib/queue/start-worker";
import { dropboxSignature } from "@/lib/webhooks/dropbox-notification";
import { fakeContentHash, startDropboxFake, type DropboxFake } from "./fakes/dropbox-server";
import {
  call,
  closeAll,
  db,
  deliveredSince,
  deliveryCount,
  indexed,
  operatorToken,
  pollDueSources,
  resetDb,
  waitFor,
  waitForJob,
} from "./helpers";

const SECRET = "dropbox-app-secret-for-tests";
let fake: DropboxFake;
let worker: RunningWorker;
let token: string;

const sha256 = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

async function latestJob(sourceId: string, after: Date) {
  return waitFor(async () => {
    const rows = await db().select().from(syncJobs).where(eq(syncJobs.sourceId, sourceId));
    return rows.filter((r) => r.createdAt > after).sort((a, b) => +b.createdAt - +a.createdAt)[0] ?? null;
  });
}

async function connect(config: Record<string, unknown> = { path: "/Docs" }, name = "docs") {
  const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
    token,
    body: { type: "dropbox", name, config: { token: fake.token, ...config } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  const job = await waitForJob(res.json.jobId);
  assert.equal(job.status, "completed", job.errorMessage ?? "");
  return res.json.source.id as string;
}

function notify(body: string, signature: string | null = dropboxSignature(body, SECRET)) {
  const headers = new Headers({ "content-type": "application/json" });
  if (signature !== null) headers.set("x-dropbox-signature", signature);
  return dropboxWebhook.POST(new Request("http://localhost/api/webhooks/dropbox", { method: "POST", headers, body }));
}

const seed = () => {
  fake.put("/Docs/README.md", "# Docs\n");
  fake.put("/Docs/src/app.ts", "export const app = 1;\n");
  fake.put("/Docs/src/deep/util.py", "def util():\n    return 1\n");
  fake.put("/Docs/notes/todo.txt", "buy milk\n");
  fake.put("/Docs/logo.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2]));
  fake.put("/Other/secret.md", "not in the source\n");
};

describe("Dropbox sources", () => {
  before(async () => {
    process.env.DROPBOX_APP_SECRET = SECRET;
    worker = await startWorker({ watch: false });
  });
  after(async () => {
    await worker.stop();
    await fake?.close();
    await closeAll();
  });
  beforeEach(async () => {
    await fake?.close();
    fake = await startDropboxFake({ pageLimit: 3 });
    Object.assign(process.env, fake.env);
    await resetDb();
    token = await operatorToken();
    seed();
  });

  test("content_hash is SHA-256 over the SHA-256 of each 4 MiB block", () => {
    assert.equal(dropboxContentHash(Buffer.alloc(0)), sha256(Buffer.alloc(0)));
    const small = Buffer.from("hello dropbox");
    assert.equal(dropboxContentHash(small), sha256(createHash("sha256").update(small).digest()));
    const big = Buffer.alloc(9 * 1024 * 1024 + 5, 7);
    assert.equal(dropboxContentHash(big), fakeContentHash(big));
    assert.notEqual(dropboxContentHash(big), sha256(createHash("sha256").update(big).digest()), "more than one block");
  });

  test("the webhook signature matches Dropbox's documented test vector", () => {
    assert.equal(
      dropboxSignature('{"delta": {"users": [12345]}}', "the_secret"),
      "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529",
    );
  });

  test("a full sync indexes exactly the folder's files, paged, with content_hash as version; the token is sealed and never returned", async () => {
    const sourceId = await connect();
    const rows = await indexed(sourceId);
    assert.deepEqual([...rows.keys()].sort(), ["README.md", "notes/todo.txt", "src/app.ts", "src/deep/util.py"]);
    assert.equal(rows.get("src/app.ts")!.sha, sha256("export const app = 1;\n"));
    assert.equal(rows.get("src/app.ts")!.providerVersion, fakeContentHash(Buffer.from("export const app = 1;\n")));
    assert.ok(fake.count("files/list_folder/continue") >= 2, "the listing was paged");
    const [source] = await db().select().from(sources).where(eq(sources.id, sourceId));
    assert.equal(source!.accountId, fake.accountId);
    assert.equal(source!.config.token, undefined, "the token is not kept in config");
    assert.ok(source!.tokenSecret && !source!.tokenSecret.includes(fake.token), "the token is stored sealed");
    assert.ok(!JSON.stringify(source!.config).includes(fake.token));
    const shown = await call(sourceRoute.GET, "GET", `/api/sources/${sourceId}`, { token, params: { id: sourceId } });
    assert.equal(shown.json.source.config.token, undefined);
    assert.deepEqual(shown.json.source.config.path, "/Docs");
  });

  test("POST /api/sources refuses a missing folder and a path without a leading slash", async () => {
    const missing = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "dropbox", name: "x", config: { token: fake.token, path: "/Nope" } },
    });
    assert.equal(missing.status, 400);
    assert.match(missing.json.detail, /does not exist/);
    const relative = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "dropbox", name: "x", config: { token: fake.token, path: "Docs" } },
    });
    assert.equal(relative.status, 400);
    assert.match(relative.json.detail, /must start with/);
  });

  test("a signed notification brings adds, edits, renames, moves and deletes exactly, downloading only what changed", async () => {
    const sourceId = await connect();
    const before = await deliveryCount(sourceId);
    const downloads = fake.count("files/download");
    fake.put("/Docs/new.md", "# New\n");
    fake.put("/Docs/src/app.ts", "export const app = 2;\n");
    fake.move("/Docs/README.md", "/Docs/README2.md");
    fake.move("/Docs/src/deep", "/Docs/lib/deep");
    fake.remove("/Docs/notes");
    fake.put("/Other/elsewhere.md", "outside\n");
    const since = new Date();
    const res = await notify(
      JSON.stringify({ list_folder: { accounts: [fake.accountId] }, delta: { users: [12345] } }),
    );
    assert.equal(res.status, 200);
    const job = await waitForJob((await latestJob(sourceId, since)).id);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(job.trigger, "webhook");
    assert.deepEqual(await deliveredSince(sourceId, before), [
      "delete README.md",
      "delete notes/todo.txt",
      "delete src/deep/util.py",
      "upsert README2.md",
      "upsert lib/deep/util.py",
      "upsert new.md",
      "upsert src/app.ts",
    ]);
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), [
      "README2.md",
      "lib/deep/util.py",
      "new.md",
      "src/app.ts",
    ]);
    assert.equal(fake.count("files/download") - downloads, 4, "only the four new or changed paths were downloaded");
    assert.equal(fake.count("files/list_folder"), 1, "no re-listing after the first sync");
  });

  test("a void cursor (reset) leads to a full resync that is exact", async () => {
    const sourceId = await connect();
    fake.resetCursors();
    fake.put("/Docs/after-reset.md", "# after\n");
    fake.remove("/Docs/src/app.ts");
    const res = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    const job = await waitForJob(res.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(fake.count("files/list_folder"), 2, "listed again from scratch");
    assert.deepEqual([...(await indexed(sourceId)).keys()].sort(), [
      "README.md",
      "after-reset.md",
      "notes/todo.txt",
      "src/deep/util.py",
    ]);
    // The new cursor works: the next change arrives incrementally.
    fake.put("/Docs/later.md", "# later\n");
    const again = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    assert.equal((await waitForJob(again.json.jobId)).status, "completed");
    assert.equal(fake.count("files/list_folder"), 2);
    assert.ok((await indexed(sourceId)).has("later.md"));
  });

  test("without a public URL the source is polled: one list_folder/continue, a sync only when something changed", async () => {
    const sourceId = await connect();
    const continues = fake.count("files/list_folder/continue");
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 0 });
    assert.equal(fake.count("files/list_folder/continue") - continues, 1, "one request per poll");
    fake.put("/Docs/src/app.ts", "export const app = 3;\n");
    const since = new Date();
    assert.deepEqual(await pollDueSources(), { checked: 1, queued: 1 });
    const job = await waitForJob((await latestJob(sourceId, since)).id);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(job.trigger, "schedule");
    assert.equal((await indexed(sourceId)).get("src/app.ts")?.sha, sha256("export const app = 3;\n"));
  });

  test("GET /api/webhooks/dropbox echoes the challenge as text/plain with nosniff", async () => {
    const res = await dropboxWebhook.GET(
      new Request("http://localhost/api/webhooks/dropbox?challenge=abc%3Cscript%3E123"),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await res.text(), "abc<script>123");
    const missing = await dropboxWebhook.GET(new Request("http://localhost/api/webhooks/dropbox"));
    assert.equal(missing.status, 400);
  });

  test("POST /api/webhooks/dropbox refuses a missing or wrong signature (401), queues nothing for unknown accounts, and one sync per source of a listed account", async () => {
    const first = await connect({ path: "/Docs" }, "docs");
    const second = await connect({ path: "/Other" }, "other");
    const body = JSON.stringify({ list_folder: { accounts: [fake.accountId] } });
    const countJobs = async () => (await db().select().from(syncJobs)).length;
    const jobsBefore = await countJobs();
    for (const signature of [
      null,
      "",
      dropboxSignature(body, "wrong-secret"),
      dropboxSignature(body + " ", SECRET),
      "zz",
    ]) {
      const res = await notify(body, signature);
      assert.equal(res.status, 401, `signature ${signature}`);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
    }
    const unknown = await notify(JSON.stringify({ list_folder: { accounts: ["dbid:someone-else"] } }));
    assert.equal(unknown.status, 200);
    assert.equal((await unknown.json()).queued, 0);
    assert.equal(await countJobs(), jobsBefore, "nothing queued by refused or foreign notifications");
    assert.equal((await db().select().from(webhookEvents)).length, 0);

    const ok = await notify(body);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).queued, 2);
    const queued = (await db().select().from(syncJobs)).filter((j) => j.trigger === "webhook");
    assert.deepEqual(queued.map((j) => j.sourceId).sort(), [first, second].sort());
    assert.ok(queued.every((j) => j.type === "incremental"));
    const [event] = await db().select().from(webhookEvents);
    assert.equal(event!.sourceType, "dropbox");
    for (const j of queued) await waitForJob(j.id);

    const saved = process.env.DROPBOX_APP_SECRET;
    delete process.env.DROPBOX_APP_SECRET;
    try {
      assert.equal((await notify(body, dropboxSignature(body, SECRET))).status, 503);
    } finally {
      process.env.DROPBOX_APP_SECRET = saved;
    }
  });

  test("429 with Retry-After is waited out, shown on the job, and no file is lost", async () => {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "dropbox", name: "docs", config: { token: fake.token, path: "/Docs" } },
    });
    const sourceId = res.json.source.id as string;
    await waitForJob(res.json.jobId);
    fake.put("/Docs/a.md", "a\n");
    fake.put("/Docs/b.md", "b\n");
    fake.throttleNext(2, 1, "files/download");
    const sync = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    const waiting = await waitFor(
      async () => {
        const [job] = await db().select().from(syncJobs).where(eq(syncJobs.id, sync.json.jobId));
        return job?.detail?.includes("rate limit") ? job : null;
      },
      { what: "the wait to show on the job" },
    );
    assert.match(waiting.detail!, /waiting for rate limit until .*too_many_requests/);
    const job = await waitForJob(sync.json.jobId);
    assert.equal(job.status, "completed", job.errorMessage ?? "");
    assert.equal(job.detail, null);
    const rows = await indexed(sourceId);
    assert.ok(rows.has("a.md") && rows.has("b.md"));
    assert.equal(rows.size, 6);
  });

  test("an expired or revoked token marks the source needs_reauth, visible in the API", async () => {
    const sourceId = await connect();
    fake.revokeTokens();
    const sync = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "incremental" },
    });
    const job = await waitForJob(sync.json.jobId);
    assert.equal(job.status, "failed");
    assert.match(job.errorMessage!, /Dropbox refused the token \(expired_access_token/);
    const shown = await call(sourceRoute.GET, "GET", `/api/sources/${sourceId}`, { token, params: { id: sourceId } });
    assert.equal(shown.json.source.status, "needs_reauth");
    assert.equal((await indexed(sourceId)).size, 4, "the index is kept as it was");
  });
});
