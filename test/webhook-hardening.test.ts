import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as driveWebhook from "@/app/api/webhooks/gdrive/route";
import * as githubWebhook from "@/app/api/webhooks/github/route";
import { sealWebhookSecret } from "@/lib/oauth/provider-token";
import { sources, webhookEvents } from "@/lib/db/schema";
import { logger } from "@/lib/log";
import { closeAll, db, resetDb } from "./helpers";

// What an anonymous sender can make the webhook routes do: nothing but read and hash its bytes.
const REPO = "octo/hardened";
const HOOK_ID = "4242";
const SECRET = "webhook-hardening-secret";
let sourceId: string;

const sign = (body: string | Buffer, secret = SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

const pushBody = (after = randomUUID()) =>
  JSON.stringify({ ref: "refs/heads/main", before: "a", after, commits: [], repository: { full_name: REPO } });

function githubHeaders(body: string | null, overrides: Record<string, string | null> = {}): Record<string, string> {
  const headers: Record<string, string | null> = {
    "content-type": "application/json",
    "x-github-event": "push",
    "x-github-delivery": randomUUID(),
    "x-github-hook-id": HOOK_ID,
    "x-hub-signature-256": body === null ? sign("anything", "not the secret") : sign(body),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== null));
}

async function postGitHub(body: BodyInit, headers: Record<string, string>) {
  const res = await githubWebhook.POST(
    new Request("http://localhost/api/webhooks/github", {
      method: "POST",
      headers,
      body,
      duplex: "half",
    } as RequestInit),
  );
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

/**
 * A body that yields `chunk`-sized pieces until `total` bytes (or until `hold` is released),
 * counting what was pulled; `heldAt` is when it first stopped at `holdAfter` bytes.
 */
function pulledStream(options: { total: number; chunk?: number; holdAfter?: number; hold?: Promise<void> }) {
  const chunk = options.chunk ?? 64 * 1024;
  const counter: { pulled: number; heldAt?: number } = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (options.holdAfter !== undefined && counter.pulled >= options.holdAfter) {
        counter.heldAt ??= performance.now();
        await options.hold;
      }
      if (counter.pulled >= options.total) return controller.close();
      const size = Math.min(chunk, options.total - counter.pulled);
      counter.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(32));
    },
  });
  return { stream, counter };
}

/** What the process logs while `run` runs: console lines and the logger's. */
async function consoleDuring(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  for (const name of ["log", "warn", "error", "info"] as const)
    console[name] = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  const methods = logger as unknown as Record<string, unknown>;
  const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
  const savedLevels = Object.fromEntries(levels.map((level) => [level, methods[level]]));
  for (const level of levels)
    methods[level] = (...args: unknown[]) =>
      void lines.push(`${level} ${args.map((a) => JSON.stringify(a)).join(" ")}`);
  try {
    await run();
  } finally {
    Object.assign(console, saved);
    Object.assign(methods, savedLevels);
  }
  return lines;
}

describe("webhook routes against anonymous senders", () => {
  before(async () => {
    await resetDb();
  });
  beforeEach(async () => {
    await db().delete(webhookEvents);
    await db().delete(sources);
    sourceId = randomUUID();
    await db()
      .insert(sources)
      .values({
        id: sourceId,
        type: "github",
        name: REPO,
        config: { repo: REPO, branch: "main" },
        status: "synced",
        webhookId: HOOK_ID,
        webhookSecret: sealWebhookSecret(sourceId, SECRET),
      });
  });
  afterEach(() => {
    delete process.env.WEBHOOK_MAX_INFLIGHT_BYTES;
  });
  after(() => closeAll());

  test("401 for a hook id no source owns, a missing hook id, a missing or wrong signature; no row and no log line", async () => {
    const body = pushBody();
    const elsewhere = JSON.stringify({ ...JSON.parse(body), repository: { full_name: "someone/unfollowed" } });
    const statuses: number[] = [];
    const lines = await consoleDuring(async () => {
      for (let i = 0; i < 20; i++) {
        statuses.push((await postGitHub(elsewhere, githubHeaders(elsewhere, { "x-github-hook-id": "999999" }))).status);
        statuses.push((await postGitHub(body, githubHeaders(body, { "x-github-hook-id": null }))).status);
        statuses.push((await postGitHub(body, githubHeaders(body, { "x-hub-signature-256": null }))).status);
        statuses.push(
          (await postGitHub(body, githubHeaders(body, { "x-hub-signature-256": sign(body, "guess") }))).status,
        );
        statuses.push(
          (await postGitHub(elsewhere, githubHeaders(elsewhere, { "x-hub-signature-256": sign(elsewhere, "guess") })))
            .status,
        );
      }
    });
    assert.deepEqual([...new Set(statuses)], [401]);
    assert.deepEqual(lines, [], "refusals are counted, never logged one by one");
    assert.equal((await db().select().from(webhookEvents)).length, 0, "no row for a forged request");
    const { refusalCounts } = await import("@/lib/webhooks/refusals");
    const unauthorized = refusalCounts().find((c) => c.provider === "github" && c.reason === "unauthorized");
    assert.ok(unauthorized && unauthorized.count >= 100, "each refusal is counted");

    const signed = await postGitHub(body, githubHeaders(body));
    assert.equal(signed.status, 202);
    assert.equal(signed.json.queued, 1);
  });

  test("a body is capped while it streams, chunked too: 413 long before the rest is read (Drive: 1 MB)", async () => {
    const drive = pulledStream({ total: 64 * 1024 * 1024 });
    const refused = await driveWebhook.POST(
      new Request("http://localhost/api/webhooks/gdrive", {
        method: "POST",
        headers: { "x-goog-channel-id": "unknown", "x-goog-channel-token": "forged" },
        body: drive.stream,
        duplex: "half",
      } as RequestInit),
    );
    assert.equal(refused.status, 413);
    assert.ok(drive.counter.pulled <= 2 * 1024 * 1024, `read ${drive.counter.pulled} bytes of a chunked body`);

    const git = pulledStream({ total: 64 * 1024 * 1024, chunk: 1024 * 1024 });
    const tooLarge = await postGitHub(git.stream, githubHeaders(null));
    assert.equal(tooLarge.status, 413);
    assert.ok(git.counter.pulled <= 27 * 1024 * 1024, `read ${git.counter.pulled} bytes of a chunked body`);
  });

  test("WEBHOOK_MAX_INFLIGHT_BYTES: a large body that would pass it gets 503 with Retry-After; a small signed push still gets through", async () => {
    process.env.WEBHOOK_MAX_INFLIGHT_BYTES = String(8 * 1024 * 1024);
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    // A slow forged body holding 6 MB of the budget while it trickles in.
    const slow = pulledStream({ total: 7 * 1024 * 1024, chunk: 1024 * 1024, holdAfter: 6 * 1024 * 1024, hold });
    const slowAnswer = postGitHub(slow.stream, githubHeaders(null));
    while (slow.counter.pulled < 6 * 1024 * 1024) await new Promise((r) => setImmediate(r));

    const large = pulledStream({ total: 4 * 1024 * 1024, chunk: 512 * 1024 });
    const busy = await postGitHub(large.stream, githubHeaders(null));
    assert.equal(busy.status, 503);
    assert.match(busy.headers.get("retry-after") ?? "", /^\d+$/);
    assert.equal(busy.headers.get("content-type"), "application/problem+json");

    const body = pushBody();
    const small = await postGitHub(body, githubHeaders(body));
    assert.equal(small.status, 202, "small genuine pushes get through a budget full of large bodies");

    release();
    assert.equal((await slowAnswer).status, 401);
  });

  test("a body that does not arrive within 10 s is a 408", { timeout: 30_000 }, async () => {
    const stalled = pulledStream({ total: 1024 * 1024, chunk: 1024, holdAfter: 1024, hold: new Promise(() => {}) });
    const answer = await postGitHub(stalled.stream, githubHeaders(null));
    assert.equal(answer.status, 408);
    // Timed from the moment the body stalled (finding the hook's sources before it may take a
    // while on a loaded machine): the 10 s deadline, not a later one.
    assert.ok(stalled.counter.heldAt !== undefined);
    assert.ok(performance.now() - stalled.counter.heldAt < 15_000);
  });

  test("a replayed body under a fresh delivery id is a duplicate (git deliveries only)", async () => {
    const body = pushBody();
    const first = await postGitHub(body, githubHeaders(body));
    assert.deepEqual(first.json, { received: true, duplicate: false, queued: 1 });
    const replayed = await postGitHub(body, githubHeaders(body, { "x-github-delivery": randomUUID() }));
    assert.equal(replayed.status, 202);
    assert.deepEqual(replayed.json, { received: true, duplicate: true, queued: 0 });
    const rows = await db().select().from(webhookEvents).where(eq(webhookEvents.sourceId, sourceId));
    assert.equal(rows.length, 1);
  });

  test("the stored payload is a size-capped summary of what a sync needs, not the whole body", async () => {
    const commits = Array.from({ length: 3_000 }, (_, i) => ({
      id: `c${i}`,
      message: "x".repeat(500),
      added: [`src/added-${i}.ts`],
      modified: [`src/modified-${i}.ts`],
      removed: [],
    }));
    const body = JSON.stringify({ ...JSON.parse(pushBody()), commits, repository: { id: 7, full_name: REPO } });
    assert.ok(body.length > 1_500_000);
    assert.equal((await postGitHub(body, githubHeaders(body))).status, 202);
    const [row] = await db().select().from(webhookEvents).where(eq(webhookEvents.sourceId, sourceId));
    const stored = row!.payload as Record<string, unknown>;
    assert.ok(JSON.stringify(stored).length < 200_000, `stored ${JSON.stringify(stored).length} characters`);
    assert.equal(stored.ref, "refs/heads/main");
    assert.deepEqual(stored.repository, { id: 7, name: REPO });
    assert.equal(stored.truncated, true);
    const kept = stored.commits as { id: string; added: string[] }[];
    assert.deepEqual(kept[0], { id: "c0", added: ["src/added-0.ts"], modified: ["src/modified-0.ts"], removed: [] });
  });
});
