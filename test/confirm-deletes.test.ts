import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { after, beforeEach, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import * as sourcesRoute from "@/app/api/sources/route";
import * as syncRoute from "@/app/api/sources/[id]/sync/route";
import { syncJobs } from "@/lib/db/schema";
import { requestSync } from "@/lib/queue/request-sync";
import { call, closeAll, db, operatorToken, resetDb, tempDir } from "./helpers";

const root = tempDir("dc-confirm-roots-");
process.env.LOCAL_SOURCE_ROOTS = root;

// No worker runs here: every request stays queued, so merging can be observed.
describe("POST /api/sources/:id/sync with confirmDeletes", () => {
  let token: string;
  beforeEach(async () => {
    await resetDb();
    token = await operatorToken();
  });
  after(closeAll);

  test("merged into the full sync already waiting, the flag is kept whatever is merged after it", async () => {
    const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "merge", config: { path: mkdtempSync(path.join(root, "s-")) } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const sourceId = created.json.source.id as string;
    const waiting = created.json.jobId as string;
    const confirmed = await call(syncRoute.POST, "POST", `/api/sources/${sourceId}/sync`, {
      token,
      params: { id: sourceId },
      body: { type: "full", confirmDeletes: true },
    });
    assert.equal(confirmed.status, 202, JSON.stringify(confirmed.json));
    assert.equal(confirmed.json.jobId, waiting);
    assert.equal(confirmed.json.coalesced, true);
    const later = await requestSync({ sourceId, type: "incremental", trigger: "watcher", paths: ["a.md"] });
    assert.equal(later.jobId, waiting);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.id, waiting));
    assert.equal(job!.type, "full");
    assert.equal(job!.confirmDeletes, true);
    assert.equal(job!.paths, null);
  });

  test("an incremental sync waiting becomes a confirmed full one", async () => {
    const created = await call(sourcesRoute.POST, "POST", "/api/sources", {
      token,
      body: { type: "local", name: "merge", config: { path: mkdtempSync(path.join(root, "s-")) } },
    });
    const sourceId = created.json.source.id as string;
    await db().update(syncJobs).set({ type: "incremental" }).where(eq(syncJobs.id, created.json.jobId));
    const confirmed = await requestSync({ sourceId, type: "full", trigger: "api", confirmDeletes: true });
    assert.equal(confirmed.jobId, created.json.jobId);
    const [job] = await db().select().from(syncJobs).where(eq(syncJobs.id, confirmed.jobId));
    assert.deepEqual([job!.type, job!.confirmDeletes], ["full", true]);
  });
});
