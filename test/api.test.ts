import assert from "node:assert/strict";
import path from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import { sql } from "drizzle-orm";
import { SOURCE_TYPES } from "@/lib/connectors/types";
import * as sourcesRoute from "@/app/api/sources/route";
import * as sourceRoute from "@/app/api/sources/[id]/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import * as filesRoute from "@/app/api/sources/[id]/files/route";
import * as jobsRoute from "@/app/api/jobs/route";
import * as cancelRoute from "@/app/api/jobs/[id]/cancel/route";
import { revokeApiToken } from "@/lib/auth/api-tokens";
import { call, closeAll, db, operatorToken, resetDb, signedInUser, tempDir, writeTree } from "./helpers";

const roots = tempDir("dc-api-roots-");
const inside = path.join(roots, "repo");
writeTree(inside, { "a.ts": "export {}\n", "b/c.py": "x = 1\n" });
process.env.LOCAL_SOURCE_ROOTS = roots;
const UNKNOWN = "3f1e2c55-2b5e-4c1f-9a55-0d2b6f1d3a10";

let token: string;

function assertProblem(
  res: { status: number; type: string | null; json: { status: number; detail: string } },
  status: number,
  detail: RegExp,
) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.type, "application/problem+json");
  assert.equal(res.json.status, status);
  assert.match(res.json.detail, detail);
}

describe("API", () => {
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });
  after(() => closeAll());

  test("POST /api/sources rejects an unknown type, naming the valid ones", async () => {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "svn", name: "x", config: {} },
    });
    assertProblem(
      res,
      400,
      /Unknown source type "svn". Valid types: github, gitlab, bitbucket, gdrive, dropbox, local/,
    );
  });

  test("every source type of the design is available: a bad config is a field error, never 'not available yet'", async () => {
    for (const type of SOURCE_TYPES) {
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type, name: "x", config: { maxFileSize: -1 } },
      });
      assertProblem(res, 400, /config\.maxFileSize/);
      assert.doesNotMatch(res.json.detail, /not available yet/);
    }
  });

  test("POST /api/sources reports missing fields one by one", async () => {
    const res = await call(sourcesRoute.POST, "POST", "/api/sources", { token, body: { config: {} } });
    assertProblem(res, 422, /type is required/);
    assert.deepEqual(res.json.errors.map((e: { path: string }) => e.path).sort(), ["name", "type"]);
    const noPath = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "x", config: {} },
    });
    assertProblem(noPath, 400, /config.path: path is required/);
  });

  test("POST /api/sources refuses a folder outside LOCAL_SOURCE_ROOTS, a .. escape and a relative path", async () => {
    for (const p of ["/etc", path.join(inside, "..", "..", "etc"), "repo"]) {
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "local", name: "x", config: { path: p } },
      });
      assertProblem(res, 400, /not a folder local sources may read|absolute folder/);
    }
    // The same words whether the path exists or not, is a file, or is outside: nothing to probe.
    const answers = new Set<string>();
    for (const p of ["/etc", path.join(roots, "missing"), path.join(inside, "a.ts"), "/nonexistent/x"]) {
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "local", name: "x", config: { path: p } },
      });
      assert.equal(res.status, 400);
      answers.add(res.json.detail.replace(p, "<path>"));
    }
    assert.equal(answers.size, 1, [...answers].join("\n"));
    const saved = process.env.LOCAL_SOURCE_ROOTS;
    delete process.env.LOCAL_SOURCE_ROOTS;
    try {
      const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
        token,
        body: { type: "local", name: "x", config: { path: inside } },
      });
      assertProblem(res, 400, /set LOCAL_SOURCE_ROOTS/);
    } finally {
      process.env.LOCAL_SOURCE_ROOTS = saved;
    }
  });

  test("POST /api/sources refuses a local folder that contains DATA_DIR or lies inside it", async () => {
    const saved = process.env.DATA_DIR;
    process.env.DATA_DIR = path.join(inside, "b");
    try {
      for (const p of [inside, path.join(inside, "b")]) {
        const res = await call(sourcesRoute.POST, "POST", "/api/sources", {
          token,
          body: { type: "local", name: "x", config: { path: p } },
        });
        assertProblem(res, 400, /not a folder local sources may read/);
      }
    } finally {
      if (saved === undefined) delete process.env.DATA_DIR;
      else process.env.DATA_DIR = saved;
    }
  });

  test("POST /api/sources: only admins connect local folders unless LOCAL_SOURCES_FOR_MEMBERS=true", async () => {
    const member = await signedInUser("member@example.com");
    const body = { type: "local", name: "x", config: { path: inside } };
    const refused = await call(sourcesRoute.POST, "POST", "/api/sources", { token: member.token, body });
    assertProblem(refused, 403, /Only admins may connect or change local folders/);
    // The same answer for a path that does not exist: a member learns nothing about the disk.
    const missing = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token: member.token,
      body: { ...body, config: { path: "/nonexistent" } },
    });
    assert.equal(missing.json.detail, refused.json.detail);
    const admin = await signedInUser("admin@example.com", "admin");
    assert.equal((await call(sourcesRoute.POST, "POST", "/api/sources", { token: admin.token, body })).status, 201);
    process.env.LOCAL_SOURCES_FOR_MEMBERS = "true";
    try {
      assert.equal((await call(sourcesRoute.POST, "POST", "/api/sources", { token: member.token, body })).status, 201);
    } finally {
      delete process.env.LOCAL_SOURCES_FOR_MEMBERS;
    }
  });

  test("malformed JSON is a 400 and a wrong content type a 415", async () => {
    const bad = await call(sourcesRoute.POST, "POST", "/api/sources", { token, rawBody: "{type: local" });
    assertProblem(bad, 400, /not valid JSON/);
    const wrongType = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      rawBody: "type=local",
      contentType: "application/x-www-form-urlencoded",
    });
    assertProblem(wrongType, 415, /Content-Type: application\/json/);
  });

  test("an unknown source or job id is a 404; a malformed one a 422", async () => {
    assertProblem(
      await call(sourceRoute.GET, "GET", `/api/sources/${UNKNOWN}`, { token, params: { id: UNKNOWN } }),
      404,
      /No source/,
    );
    assertProblem(
      await call(filesRoute.GET, "GET", `/api/sources/${UNKNOWN}/files`, { token, params: { id: UNKNOWN } }),
      404,
      /No source/,
    );
    assertProblem(
      await call(cancelRoute.POST, "POST", `/api/jobs/${UNKNOWN}/cancel`, { token, params: { id: UNKNOWN } }),
      404,
      /No job/,
    );
    assertProblem(
      await call(sourceRoute.GET, "GET", "/api/sources/nope", { token, params: { id: "nope" } }),
      422,
      /must be a UUID/,
    );
  });

  test("requests without a valid token get 401; a revoked token stops working", async () => {
    assertProblem(await call(sourcesRoute.GET, "GET", "/api/sources", { token: null }), 401, /Authorization: Bearer/);
    assertProblem(
      await call(sourcesRoute.GET, "GET", "/api/sources", { token: "dc_wrong" }),
      401,
      /invalid or has been revoked/,
    );
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { token })).status, 200);
    await revokeApiToken("test");
    assertProblem(await call(sourcesRoute.GET, "GET", "/api/sources", { token }), 401, /revoked/);
  });

  test("a source's lifecycle: create, list with its job, coalesced syncs, rename, cancel, delete", async () => {
    const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "repo", config: { path: inside, exclude: ["b/**"] } },
    });
    assert.equal(created.status, 201);
    const id = created.json.source.id;
    assert.equal(created.json.source.status, "pending");
    assert.deepEqual(created.json.source.config, { path: inside, exclude: ["b/**"] });

    const list = await call(sourcesRoute.GET, "GET", "/api/sources", { token });
    assert.equal(list.json.sources[0].latestJob.id, created.json.jobId);
    assert.equal(list.json.sources[0].latestJob.status, "queued");

    // No worker runs here: further requests fold into the waiting job instead of piling up.
    const again = await call(syncRoute.POST, "POST", `/api/sources/${id}/sync`, {
      token,
      params: { id },
      body: { type: "incremental" },
    });
    assert.equal(again.status, 202);
    assert.equal(again.json.jobId, created.json.jobId);
    assert.equal(again.json.coalesced, true);
    const jobs = await call(jobsRoute.GET, "GET", `/api/jobs?sourceId=${id}`, { token });
    assert.equal(jobs.json.jobs.length, 1);
    assert.equal(jobs.json.jobs[0].type, "full", "a full request stays full when an incremental one joins it");

    const renamed = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${id}`, {
      token,
      params: { id },
      body: { name: "renamed" },
    });
    assert.equal(renamed.json.source.name, "renamed");
    const capped = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${id}`, {
      token,
      params: { id },
      body: { config: { maxFileSize: 4096 } },
    });
    assert.equal(capped.json.source.config.maxFileSize, 4096);
    const uncapped = await call(sourceRoute.PATCH, "PATCH", `/api/sources/${id}`, {
      token,
      params: { id },
      body: { config: { maxFileSize: null } },
    });
    assert.equal(uncapped.status, 200);
    assert.equal("maxFileSize" in uncapped.json.source.config, false, "null removes a setting");

    const cancelled = await call(cancelRoute.POST, "POST", `/api/jobs/${created.json.jobId}/cancel`, {
      token,
      params: { id: created.json.jobId },
    });
    assert.equal(cancelled.status, 202);
    assert.equal(cancelled.json.job.status, "cancelled");
    const twice = await call(cancelRoute.POST, "POST", `/api/jobs/${created.json.jobId}/cancel`, {
      token,
      params: { id: created.json.jobId },
    });
    assertProblem(twice, 409, /already cancelled/);

    const removed = await call(sourceRoute.DELETE, "DELETE", `/api/sources/${id}`, { token, params: { id } });
    assert.equal(removed.status, 204);
    assertProblem(
      await call(sourceRoute.GET, "GET", `/api/sources/${id}`, { token, params: { id } }),
      404,
      /No source/,
    );
  });

  test("GET /api/sources pages with ?limit and nextCursor, newest first, through ties in creation time", async () => {
    // Seven sources, three of them created in the same microsecond: the page ends by time, then id.
    await db().execute(sql`insert into sources (type, name, config, created_at)
      select 'local', 'page-' || g, '{}'::jsonb, timestamptz '2026-01-01 00:00:00.123456+00' + (least(g, 5) || ' seconds')::interval
      from generate_series(1, 7) g`);
    const all = await call(sourcesRoute.GET, "GET", "/api/sources", { token });
    assert.equal(all.json.sources.length, 7);
    assert.equal(all.json.nextCursor, null, "without a limit, everything and no cursor");
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pageNo = 0; pageNo < 10; pageNo++) {
      const res: Awaited<ReturnType<typeof call>> = await call(
        sourcesRoute.GET,
        "GET",
        `/api/sources?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { token },
      );
      assert.equal(res.status, 200);
      assert.ok(res.json.sources.length <= 2);
      seen.push(...res.json.sources.map((s: { id: string }) => s.id));
      cursor = res.json.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(
      seen,
      all.json.sources.map((s: { id: string }) => s.id),
      "the pages together are the whole list, in order, once each",
    );
    assertProblem(
      await call(sourcesRoute.GET, "GET", "/api/sources?cursor=bm9wZQ&limit=2", { token }),
      400,
      /cursor is not valid/,
    );
    // A member lists their own sources only, paged the same way; the latest job rides along.
    const member = await signedInUser("member@example.com");
    const [own] = (
      await db().execute<{ id: string }>(
        sql`insert into sources (type, name, config, user_id) values ('local', 'mine', '{}', ${member.id}) returning id`,
      )
    ).rows;
    await db().execute(sql`insert into sync_jobs (source_id, type, trigger, status, created_at) values
      (${own!.id}, 'full', 'api', 'failed', now() - interval '1 minute'), (${own!.id}, 'incremental', 'api', 'queued', now())`);
    const mine = await call(sourcesRoute.GET, "GET", "/api/sources?limit=5", { token: member.token });
    assert.deepEqual(
      mine.json.sources.map((s: { name: string }) => s.name),
      ["mine"],
    );
    assert.equal(mine.json.sources[0].latestJob.status, "queued");
    assert.equal(mine.json.nextCursor, null);
    assertProblem(await call(sourcesRoute.GET, "GET", "/api/sources?limit=0", { token }), 422, /limit/);
  });

  test("fileCount follows the files table: batch upserts, deletes, and a source's own count only", async () => {
    const [a, b] = (
      await db().execute<{ id: string }>(
        sql`insert into sources (type, name, config) values ('local', 'a', '{}'), ('local', 'b', '{}') returning id`,
      )
    ).rows.map((r) => r.id);
    const upsert = (sourceId: string, from: number, to: number) =>
      db()
        .execute(sql`insert into files (source_id, path, sha, size) select ${sourceId}::uuid, 'f' || g, 'x', 1 from generate_series(${from}::int, ${to}::int) g
        on conflict (source_id, path) do update set sha = excluded.sha`);
    await upsert(a!, 1, 10);
    await upsert(a!, 6, 15); // five updated, five new
    await upsert(b!, 1, 3);
    await db().execute(sql`delete from files where source_id = ${a!}::uuid and path in ('f1', 'f2', 'f404')`);
    const count = async (id: string) =>
      (await call(sourceRoute.GET, "GET", `/api/sources/${id}`, { token, params: { id } })).json.source.fileCount;
    assert.equal(await count(a!), 13);
    assert.equal(await count(b!), 3);
    const listed = await call(sourcesRoute.GET, "GET", "/api/sources", { token });
    assert.deepEqual(
      Object.fromEntries(listed.json.sources.map((s: { name: string; fileCount: number }) => [s.name, s.fileCount])),
      { a: 13, b: 3 },
    );
  });
});
