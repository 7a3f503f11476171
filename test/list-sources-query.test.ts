import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import * as sourcesRoute from "@/app/api/sources/route";
import * as jobsRoute from "@/app/api/jobs/route";
import { sources, syncJobs } from "@/lib/db/schema";
import { call, closeAll, db, operatorToken, resetDb, signedInUser } from "./helpers";

const STATUSES = ["synced", "error", "needs_reauth", "syncing", "pending"] as const;
const TYPES = ["local", "github", "gdrive"] as const;

let token: string;
let member: Awaited<ReturnType<typeof signedInUser>>;

/** 60 sources with names, types, statuses and sync times spread out; every fifth one is the member's. */
async function seed() {
  member = await signedInUser("member@example.com");
  const rows = Array.from({ length: 60 }, (_, i) => ({
    userId: i % 5 === 0 ? member.id : null,
    type: TYPES[i % 3]!,
    name: `${i % 2 ? "Repo" : "docs"}-${String(i).padStart(2, "0")}${i === 7 ? "_100%" : ""}`,
    status: STATUSES[i % 5]!,
    lastSyncAt: i % 4 === 0 ? null : new Date(Date.UTC(2026, 0, 1, 0, i)),
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
  }));
  return db().insert(sources).values(rows).returning();
}

async function list(query: string, as = token) {
  const res = await call(sourcesRoute.GET, "GET", `/api/sources?${query}`, { token: as });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json as {
    sources: { id: string; name: string; status: string; type: string; lastSyncAt: string | null }[];
    nextCursor: string | null;
    statusCounts: Record<string, number>;
  };
}

/** Every page of a query, following nextCursor. */
async function allPages(query: string, limit: number) {
  const names: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res = await list(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    names.push(...res.sources.map((s) => s.name));
    cursor = res.nextCursor;
    if (!cursor) return names;
  }
  throw new Error("too many pages");
}

after(() => closeAll());

describe("GET /api/sources: search, filters, sort and paging", () => {
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });

  test("q matches names case-insensitively, LIKE's wildcards taken literally; type and status filter, status repeats", async () => {
    await seed();
    assert.deepEqual((await list("q=REPO-1")).sources.map((s) => s.name).sort(), [
      "Repo-11",
      "Repo-13",
      "Repo-15",
      "Repo-17",
      "Repo-19",
    ]);
    assert.deepEqual(
      (await list("q=_100%25")).sources.map((s) => s.name),
      ["Repo-07_100%"],
    );
    assert.equal((await list("q=%25")).sources.length, 1, "% is a character, not a wildcard");
    const github = await list("type=github");
    assert.equal(github.sources.length, 20);
    assert.ok(github.sources.every((s) => s.type === "github"));
    const bad = await list("status=error&status=needs_reauth");
    assert.equal(bad.sources.length, 24);
    assert.ok(bad.sources.every((s) => s.status === "error" || s.status === "needs_reauth"));
    assert.equal((await list("status=error,needs_reauth&type=local")).sources.length, 8);
    const res = await call(sourcesRoute.GET, "GET", "/api/sources?status=broken", { token });
    assert.equal(res.status, 422);
    assert.match(res.json.detail, /status/);
  });

  test("statusCounts count every status for the search and type, whatever the status filter", async () => {
    await seed();
    const res = await list("type=local&status=error&limit=5");
    assert.deepEqual(res.statusCounts, { pending: 4, syncing: 4, synced: 4, error: 4, needs_reauth: 4 });
    assert.equal(res.sources.length, 4);
  });

  test("each sort pages through every row once, in order, whatever the page size", async () => {
    const rows = await seed();
    const byName = rows.map((r) => r.name).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase(), "en"));
    const paged = await allPages("sort=name", 7);
    assert.equal(paged.length, 60);
    assert.equal(new Set(paged).size, 60);
    assert.deepEqual([...paged].sort(), [...byName].sort());
    assert.deepEqual(await allPages("sort=-name", 11), [...paged].reverse());

    const status = await allPages("sort=status", 9);
    const rank = ["error", "needs_reauth", "syncing", "pending", "synced"];
    const statusOf = new Map(rows.map((r) => [r.name, r.status]));
    const ranks = status.map((n) => rank.indexOf(statusOf.get(n)!));
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => a - b),
      "errors first",
    );
    assert.equal(status.length, 60);

    const recent = await allPages("sort=-lastSyncAt", 13);
    const syncedAt = new Map(rows.map((r) => [r.name, r.lastSyncAt?.getTime() ?? -Infinity]));
    const times = recent.map((n) => syncedAt.get(n)!);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      "latest sync first, never-synced last",
    );
    assert.equal(new Set(recent).size, 60);

    const newest = await allPages("sort=-createdAt", 25);
    assert.deepEqual(
      newest,
      [...rows].reverse().map((r) => r.name),
    );
  });

  test("a cursor from another sort or a made-up one is a 400; members see only their own", async () => {
    await seed();
    const first = await list("sort=name&limit=5");
    const res = await call(sourcesRoute.GET, "GET", `/api/sources?sort=status&cursor=${first.nextCursor}`, { token });
    assert.equal(res.status, 400);
    assert.match(res.json.detail, /cursor/);
    const junk = await call(sourcesRoute.GET, "GET", "/api/sources?cursor=bm9wZQ", { token });
    assert.equal(junk.status, 400);
    const mine = await list("sort=name&limit=100", member.token);
    assert.equal(mine.sources.length, 12);
    assert.equal(
      Object.values(mine.statusCounts).reduce((a, b) => a + b, 0),
      12,
    );
  });
});

describe("GET /api/jobs: filters and paging", () => {
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });

  test("status, type, trigger and sourceId filter; pages follow nextCursor, newest first", async () => {
    const [a, b] = await db()
      .insert(sources)
      .values([
        { type: "local", name: "a" },
        { type: "local", name: "b" },
      ])
      .returning();
    const jobs = Array.from({ length: 45 }, (_, i) => ({
      sourceId: (i % 3 === 0 ? b : a)!.id,
      type: i % 2 ? "full" : "incremental",
      trigger: i % 4 === 0 ? "webhook" : "manual",
      status: i % 5 === 0 ? "failed" : "completed",
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
    }));
    await db().insert(syncJobs).values(jobs);
    const get = async (q: string) => {
      const res = await call(jobsRoute.GET, "GET", `/api/jobs?${q}`, { token });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      return res.json as {
        jobs: {
          id: string;
          status: string;
          type: string;
          trigger: string;
          sourceId: string;
          sourceName: string;
          createdAt: string;
        }[];
        nextCursor: string | null;
      };
    };
    assert.equal((await get("status=failed")).jobs.length, 9);
    assert.equal((await get("status=failed&type=full")).jobs.length, 4);
    assert.equal((await get("trigger=webhook")).jobs.length, 12);
    const ofB = await get(`sourceId=${b!.id}`);
    assert.equal(ofB.jobs.length, 15);
    assert.ok(ofB.jobs.every((j) => j.sourceName === "b"));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.jobs.map((j) => j.createdAt));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 45);
    assert.deepEqual(seen, [...seen].sort().reverse());
    const bad = await call(jobsRoute.GET, "GET", "/api/jobs?cursor=xyz", { token });
    assert.equal(bad.status, 400);
  });
});
