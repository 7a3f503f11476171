import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import pg from "pg";
import * as changesRoute from "@/app/api/changes/route";
import * as sourceChangesRoute from "@/app/api/sources/[id]/changes/route";
import { changesListenerListening } from "@/lib/changes/changes-listener";
import { decodeFeedCursor } from "@/lib/changes/feed-cursor";
import { pruneChanges } from "@/lib/changes/prune-changes";
import { changes, sources, syncJobs } from "@/lib/db/schema";
import { createPipeline } from "@/lib/pipeline/deliver";
import { deleteSource } from "@/lib/sources/delete-source";
import { syncQueue } from "@/lib/queue/sync-queue";
import { handleSyncSource } from "@/lib/sync/handle-sync-source";
import { call, closeAll, db, indexed, operatorToken, resetDb, signedInUser, tempDir } from "./helpers";

// The pull feed: seq order, opaque cursors that resume, `wait`, retention that compacts
// without losing state (410 for a cursor that missed a pruned deletion), member visibility,
// and the property that a reader from the beginning ends with exactly the index.

const root = tempDir("dc-feed-roots-");
process.env.LOCAL_SOURCE_ROOTS = root;
const embeddedDb = process.env.TEST_DATABASE_KIND === "embedded";
const pipeline = createPipeline({});
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

type Change = { seq: number; sourceId: string; op: "upsert" | "delete"; path: string; sha: string | null };
type Page = { changes: Change[]; cursor: string };

let folders = 0;
function newFolder(): string {
  const folder = path.join(root, `f${++folders}`);
  mkdirSync(folder, { recursive: true });
  return folder;
}

function write(folder: string, files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
    writeFileSync(path.join(folder, rel), content);
  }
}

async function createLocalSource(folder: string, userId: string | null = null): Promise<string> {
  const [source] = await db()
    .insert(sources)
    .values({ type: "local", name: path.basename(folder), config: { path: folder }, userId })
    .returning();
  return source!.id;
}

async function sync(sourceId: string): Promise<void> {
  await db().insert(syncJobs).values({ sourceId, type: "full", trigger: "manual" });
  await handleSyncSource(sourceId, { retryCount: 0, retryLimit: 0 }, syncQueue, pipeline);
}

async function feed(token: string, query: Record<string, string | number> = {}, sourceId?: string) {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  if (sourceId) {
    return call(sourceChangesRoute.GET, "GET", `/api/sources/${sourceId}/changes?${qs}`, {
      token,
      params: { id: sourceId },
    });
  }
  return call(changesRoute.GET, "GET", `/api/changes?${qs}`, { token });
}

/** Reads the feed to its end from `after`, `limit` at a time. */
async function readAll(token: string, after?: string, limit = 3, sourceId?: string) {
  const read: Change[] = [];
  let cursor = after;
  for (;;) {
    const res = await feed(token, { ...(cursor ? { after: cursor } : {}), limit }, sourceId);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const page = res.json as Page;
    read.push(...page.changes);
    if (page.changes.length === 0) {
      if (cursor) {
        assert.equal(
          decodeFeedCursor(page.cursor).seq,
          decodeFeedCursor(cursor).seq,
          "an empty page resumes where the cursor it was given ended",
        );
      }
      return { read, cursor: page.cursor };
    }
    cursor = page.cursor;
  }
}

/** What a consumer holds after applying changes in order: path → sha, per source. */
function apply(state: Map<string, string>, read: Change[]) {
  for (const c of read) {
    const key = `${c.sourceId}:${c.path}`;
    if (c.op === "upsert") state.set(key, c.sha!);
    else state.delete(key);
  }
  return state;
}

async function indexState(...sourceIds: string[]) {
  const state = new Map<string, string>();
  for (const id of sourceIds) for (const [p, row] of await indexed(id)) state.set(`${id}:${p}`, row.sha!);
  return state;
}

/** Makes every change older than the retention, so that the prune may remove what it allows. */
async function ageChanges(days = 40) {
  await db().execute(sql`update ${changes} set at = at - make_interval(days => ${days})`);
}

describe("changes feed", () => {
  let token: string;
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });
  after(() => closeAll());

  test("GET /api/changes answers changes in seq order, pages with opaque cursors and resumes after an empty page", async () => {
    const folder = newFolder();
    write(folder, { "a.ts": "a1", "b.ts": "b1", "c.ts": "c1" });
    const id = await createLocalSource(folder);
    await sync(id);
    const first = await readAll(token, undefined, 2);
    assert.deepEqual(first.read.map((c) => `${c.op} ${c.path}`).sort(), ["upsert a.ts", "upsert b.ts", "upsert c.ts"]);
    const seqs = first.read.map((c) => c.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      "seq order",
    );
    assert.ok(first.read.every((c) => c.sourceId === id && typeof (c as { at?: string }).at === "string"));
    assert.doesNotMatch(first.cursor, /^\d+$/, "the cursor is opaque");

    write(folder, { "b.ts": "b2" });
    rmSync(path.join(folder, "c.ts"));
    await sync(id);
    const next = await readAll(token, first.cursor, 1);
    assert.deepEqual(next.read.map((c) => `${c.op} ${c.path}`).sort(), ["delete c.ts", "upsert b.ts"]);
    assert.ok(next.read[0]!.seq > seqs.at(-1)!);
    assert.equal(next.read.find((c) => c.path === "b.ts")!.sha, sha("b2"));

    // From the beginning the consumer ends with the index; the source's own feed says the same.
    assert.deepEqual(apply(new Map(), (await readAll(token)).read), await indexState(id));
    assert.deepEqual(apply(new Map(), (await readAll(token, undefined, 1000, id)).read), await indexState(id));

    const bad = await feed(token, { after: "not-a-cursor" });
    assert.equal(bad.status, 400);
    assert.equal((await feed(token, { limit: 0 })).status, 422);
    assert.equal((await feed(token, { limit: 1001 })).status, 422);
    assert.equal((await feed(token, { wait: 31 })).status, 422);
  });

  test("a member sees the changes of their own sources, and a deleted source's deletions stay visible to them", async () => {
    const alice = await signedInUser("alice@example.com");
    const bob = await signedInUser("bob@example.com");
    const aliceFolder = newFolder();
    const bobFolder = newFolder();
    write(aliceFolder, { "alice.md": "a" });
    write(bobFolder, { "bob.md": "b" });
    const aliceSource = await createLocalSource(aliceFolder, alice.id);
    const bobSource = await createLocalSource(bobFolder, bob.id);
    await sync(aliceSource);
    await sync(bobSource);

    const seenBy = async (t: string, sourceId?: string) =>
      (await readAll(t, undefined, 100, sourceId)).read.map((c) => `${c.op} ${c.path}`);
    assert.deepEqual(await seenBy(alice.token), ["upsert alice.md"]);
    assert.deepEqual(await seenBy(bob.token), ["upsert bob.md"]);
    assert.deepEqual((await seenBy(token)).sort(), ["upsert alice.md", "upsert bob.md"]);
    assert.equal((await feed(alice.token, {}, bobSource)).status, 404);
    assert.deepEqual(await seenBy(alice.token, aliceSource), ["upsert alice.md"]);

    await deleteSource({ userId: alice.id, role: "member", via: "token" }, aliceSource);
    assert.deepEqual(await seenBy(alice.token), ["upsert alice.md", "delete alice.md"]);
    assert.deepEqual(await seenBy(alice.token, aliceSource), ["upsert alice.md", "delete alice.md"]);
    assert.deepEqual(await seenBy(bob.token), ["upsert bob.md"]);
    assert.equal((await feed(bob.token, {}, aliceSource)).status, 404, "nor after the deletion");
  });

  test(
    "a change that commits after a larger seq was committed is never skipped",
    { skip: embeddedDb && "the embedded database runs one transaction at a time" },
    async () => {
      const folder = newFolder();
      write(folder, { "early.ts": "1" });
      const id = await createLocalSource(folder);
      const start = (await feed(token)).json as Page;
      const slow = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await slow.connect();
      try {
        await slow.query("begin");
        const { rows } = await slow.query<{ seq: string }>(
          `insert into changes (source_id, op, path, sha) values ($1, 'upsert', 'slow.ts', 'x') returning seq`,
          [id],
        );
        await sync(id); // commits early.ts with a larger seq while slow.ts is still open
        const meanwhile = (await feed(token, { after: start.cursor })).json as Page;
        assert.deepEqual(meanwhile.changes, [], "nothing past an open transaction's seq is served");
        assert.equal(decodeFeedCursor(meanwhile.cursor).seq, decodeFeedCursor(start.cursor).seq);
        await slow.query("commit");
        const now = (await feed(token, { after: start.cursor })).json as Page;
        assert.equal(now.changes[0]!.seq, Number(rows[0]!.seq));
        assert.deepEqual(
          now.changes.map((c) => c.path),
          ["slow.ts", "early.ts"],
        );
      } finally {
        await slow.end();
      }
    },
  );

  test("wait: an empty answer waits for the next change, and returns empty when none comes", async () => {
    const folder = newFolder();
    write(folder, { "a.ts": "1" });
    const id = await createLocalSource(folder);
    await sync(id);
    const { cursor } = await readAll(token);

    const started = Date.now();
    const quiet = await feed(token, { after: cursor, wait: 1 });
    assert.equal(quiet.status, 200);
    assert.deepEqual(quiet.json.changes, []);
    assert.equal(decodeFeedCursor(quiet.json.cursor).seq, decodeFeedCursor(cursor).seq);
    assert.ok(Date.now() - started >= 900, "it waited about a second");

    const waiting = feed(token, { after: cursor, wait: 20 });
    const asked = Date.now();
    write(folder, { "b.ts": "2" });
    await new Promise((r) => setTimeout(r, 300));
    await sync(id);
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.json as Page).changes.map((c) => c.path),
      ["b.ts"],
    );
    assert.ok(Date.now() - asked < 15_000, "answered when the change arrived, not at the deadline");
    // A server delivers notifications (LISTEN); the embedded database is polled.
    assert.equal(changesListenerListening(), !embeddedDb);
  });

  test("retention compacts without losing state; a cursor behind a pruned deletion gets 410 and a restart cursor", async () => {
    const folder = newFolder();
    write(folder, { "keep.ts": "k1", "edit.ts": "e1", "gone.ts": "g1" });
    const id = await createLocalSource(folder);
    await sync(id);
    const beforeDeletion = (await readAll(token)).cursor;
    write(folder, { "edit.ts": "e2" });
    rmSync(path.join(folder, "gone.ts"));
    await sync(id);
    const afterDeletion = (await readAll(token)).cursor;

    // Nothing is old enough yet: nothing goes.
    assert.equal(await pruneChanges(30), 0);
    assert.equal((await feed(token, { after: beforeDeletion })).status, 200);

    await ageChanges();
    const pending = await db()
      .insert(changes)
      .values({ sourceId: id, op: "delete", path: "undelivered.ts", at: new Date(Date.now() - 90 * 86_400_000) })
      .returning();
    const pruned = await pruneChanges(30);
    assert.equal(pruned, 3, "edit.ts's first version, gone.ts's upsert and its delivered deletion");
    const left = await db().select().from(changes).where(eq(changes.sourceId, id));
    assert.deepEqual(
      left.map((c) => `${c.op} ${c.path}`).sort(),
      ["delete undelivered.ts", "upsert edit.ts", "upsert keep.ts"],
      "the latest change of every path that exists, and what is not delivered yet, stay",
    );
    assert.ok(left.some((c) => c.seq === pending[0]!.seq));

    const gone = await feed(token, { after: beforeDeletion });
    assert.equal(gone.status, 410);
    assert.equal(gone.type, "application/problem+json");
    assert.equal(typeof gone.json.cursor, "string");
    const restart = await readAll(token, gone.json.cursor as string);
    const state = apply(new Map(), restart.read);
    state.delete(`${id}:undelivered.ts`);
    assert.deepEqual(state, await indexState(id), "restarting from the 410's cursor rebuilds the index");
    assert.equal((await feed(token, { after: afterDeletion })).status, 200, "a cursor past the deletion is fine");
    assert.equal((await feed(token, { after: beforeDeletion }, id)).status, 410, "the source's feed too");
  });

  test("property: a consumer reading from the beginning, or following along, ends with exactly the index", async () => {
    const NAMES = ["a.ts", "b.ts", "dir/c.py", "dir/d.md", "e.txt"];
    const name = fc.constantFrom(...NAMES);
    // Weighted so that most runs write files, sync them and then prune or read.
    const op = fc.oneof(
      {
        arbitrary: fc.record({ kind: fc.constant("write" as const), name, text: fc.string({ maxLength: 6 }) }),
        weight: 4,
      },
      { arbitrary: fc.record({ kind: fc.constant("rename" as const), from: name, to: name }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant("delete" as const), name }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant("sync" as const) }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant("read" as const) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant("prune" as const) }), weight: 2 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 16 }), async (ops) => {
        await resetDb();
        const admin = await operatorToken();
        const folder = newFolder();
        const id = await createLocalSource(folder);
        const follower = { state: new Map<string, string>(), cursor: undefined as string | undefined };
        const follow = async () => {
          const res = await feed(admin, follower.cursor ? { after: follower.cursor } : {});
          if (res.status === 410) {
            follower.state = new Map();
            follower.cursor = res.json.cursor as string;
          }
          const { read, cursor } = await readAll(admin, follower.cursor, 4);
          apply(follower.state, read);
          follower.cursor = cursor;
        };
        for (const step of ops) {
          if (step.kind === "write") write(folder, { [step.name]: `${step.name}:${step.text}` });
          else if (step.kind === "delete") rmSync(path.join(folder, step.name), { force: true });
          else if (step.kind === "rename") {
            const from = path.join(folder, step.from);
            const to = path.join(folder, step.to);
            try {
              mkdirSync(path.dirname(to), { recursive: true });
              renameSync(from, to);
            } catch {
              // renaming a file that is not there changes nothing
            }
          } else if (step.kind === "sync") await sync(id);
          else if (step.kind === "read") await follow();
          else {
            await ageChanges();
            await pruneChanges(30);
          }
        }
        await sync(id);
        const expected = await indexState(id);
        assert.deepEqual(apply(new Map(), (await readAll(admin, undefined, 5)).read), expected);
        await follow();
        assert.deepEqual(follower.state, expected);
        rmSync(folder, { recursive: true, force: true });
      }),
      {
        numRuns: embeddedDb ? 20 : 30,
        // Always among them: a file edited, renamed and deleted around a prune, with a reader in between.
        examples: [
          [
            [
              { kind: "write", name: "a.ts", text: "1" },
              { kind: "write", name: "b.ts", text: "1" },
              { kind: "sync" },
              { kind: "read" },
              { kind: "write", name: "a.ts", text: "2" },
              { kind: "rename", from: "b.ts", to: "dir/c.py" },
              { kind: "sync" },
              { kind: "delete", name: "a.ts" },
              { kind: "sync" },
              { kind: "prune" },
            ],
          ],
        ],
      },
    );
  });
});
