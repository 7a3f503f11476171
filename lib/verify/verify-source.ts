import { and, desc, eq, inArray, ne, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import {
  files,
  sources,
  syncJobFailures,
  syncJobs,
  type Source,
  type SyncJob,
  type VerifyResult,
} from "@/lib/db/schema";
import { connectorForSource } from "@/lib/sync/connector-for-source";
import { ConnectorError } from "@/lib/connectors/errors";
import type { Connector } from "@/lib/connectors/types";
import { createFileFilter, type FilterConfig } from "@/lib/sync/filters";
import { requestSync } from "@/lib/queue/request-sync";
import { compareIndex, type CompareOptions, type IndexRow } from "./compare-index";
import { isDeletionGuardHolding } from "./deletion-guard";

const GIT_TYPES = new Set(["github", "gitlab", "bitbucket"]);

/** Thrown while a sync of the source is waiting or running: pg-boss retries the verify later. */
export class VerifyDeferredError extends Error {
  constructor() {
    super("A sync of this source is waiting or running; the verify runs once it is done.");
    this.name = "VerifyDeferredError";
  }
}

/** What a verify found, and whether it compared anything (a source behind may not be comparable). */
export type VerifyOutcome = { result: VerifyResult; compared: boolean };

const EMPTY = { missing: 0, extra: 0, differing: 0, examples: { missing: [], extra: [], differing: [] } };

function modeFor(type: string): CompareOptions["mode"] {
  if (type === "bitbucket") return "archive";
  if (type === "local") return "listing-hash-differing";
  return "listing";
}

async function syncPending(sourceId: string): Promise<boolean> {
  const [row] = await getDb()
    .select({ id: syncJobs.id })
    .from(syncJobs)
    .where(
      and(
        eq(syncJobs.sourceId, sourceId),
        ne(syncJobs.type, "verify"),
        inArray(syncJobs.status, ["queued", "running"]),
      ),
    )
    .limit(1);
  return !!row;
}

async function loadIndexRows(sourceId: string): Promise<Map<string, IndexRow>> {
  const rows = await getDb()
    .select({
      path: files.path,
      sha: files.sha,
      size: files.size,
      providerId: files.providerId,
      providerVersion: files.providerVersion,
    })
    .from(files)
    .where(eq(files.sourceId, sourceId));
  return new Map(rows.map((r) => [r.path, r]));
}

/** The paths the source's latest sync recorded as failed. */
async function latestFailures(sourceId: string): Promise<Set<string>> {
  const db = getDb();
  const [latest] = await db
    .select({ id: syncJobs.id })
    .from(syncJobs)
    .where(and(eq(syncJobs.sourceId, sourceId), ne(syncJobs.type, "verify")))
    .orderBy(desc(syncJobs.createdAt))
    .limit(1);
  if (!latest) return new Set();
  const rows = await db
    .select({ path: syncJobFailures.path })
    .from(syncJobFailures)
    .where(eq(syncJobFailures.jobId, latest.id));
  return new Set(rows.map((r) => r.path));
}

/**
 * Whether the source moved on since the commit or cursor its index reflects: a new head on
 * git hosts, pending changes in Drive's and Dropbox's feeds. Local folders have no position.
 */
async function isBehind(source: Source, live: Connector): Promise<boolean> {
  if (source.type === "local") return false;
  if (!source.cursor) return true;
  if (!GIT_TYPES.has(source.type) && live.hasChanges) return live.hasChanges(source.cursor);
  return (await live.currentCursor()) !== source.cursor;
}

/**
 * One verify: compares the index with the source as of the commit or cursor the index claims
 * to reflect, and writes only its own job, the source's verifiedAt and drift. Drift queues a
 * full sync that repairs it (unless the deletion guard holds syncs back); a source that moved
 * on is `behind`, not drift, and gets an incremental sync.
 */
export async function verifySource(source: Source): Promise<VerifyOutcome> {
  const live = await connectorForSource(source);
  const behind = await isBehind(source, live);
  // Git hosts are read at the indexed commit; other providers only as they are now, which
  // cannot be compared with an index that is behind.
  const pinned = GIT_TYPES.has(source.type) && source.cursor;
  if (behind && !pinned) {
    await requestSync({ sourceId: source.id, type: "incremental", trigger: "verify" });
    return { result: { behind: true, ...EMPTY }, compared: false };
  }
  const connector = pinned ? await connectorForSource(source, { at: source.cursor }) : live;
  try {
    const comparison = await compareIndex({
      connector,
      filter: createFileFilter(source.config as FilterConfig),
      index: await loadIndexRows(source.id),
      mode: modeFor(source.type),
      knownFailures: await latestFailures(source.id),
    });
    return { result: { behind, ...comparison }, compared: true };
  } catch (err) {
    // The indexed commit is gone (a force-push): nothing to compare with; the sync resets.
    if (!(behind && err instanceof ConnectorError && !err.retryable)) throw err;
    await requestSync({ sourceId: source.id, type: "incremental", trigger: "verify" });
    return { result: { behind: true, ...EMPTY }, compared: false };
  }
}

/** Records the result and acts on it: the source's verifiedAt and drift, the repair sync. */
async function settle(job: SyncJob, source: Source, { result, compared: listed }: VerifyOutcome): Promise<void> {
  const db = getDb();
  const now = new Date();
  // A sync that finished meanwhile changed the index under the comparison: behind, not drift.
  const [after] = await db
    .select({ cursor: sources.cursor, lastSyncAt: sources.lastSyncAt })
    .from(sources)
    .where(eq(sources.id, source.id));
  if (!after) return;
  const moved = after.cursor !== source.cursor || after.lastSyncAt?.getTime() !== source.lastSyncAt?.getTime();
  const compared = listed && !moved;
  const settled: VerifyResult = moved ? { ...result, behind: true } : result;
  const drift = settled.missing + settled.extra + settled.differing;
  const held = compared && drift > 0 && (await isDeletionGuardHolding(source));
  const repair = compared && drift > 0 && !held ? "full" : compared && settled.behind ? "incremental" : null;
  const finding = `Verify found ${drift} file${drift === 1 ? "" : "s"} that differ from the source (${settled.missing} missing, ${settled.extra} extra, ${settled.differing} differing).`;
  const detail = held
    ? `${finding} No repair is queued while the deletion guard holds syncs back.`
    : repair === "full"
      ? `${finding} A full sync repairs them.`
      : settled.behind
        ? "The source moved on since the last sync; an incremental sync catches up."
        : null;
  // The job completes first: a verify cancelled meanwhile queues nothing and records nothing.
  const [done] = await db
    .update(syncJobs)
    .set({ status: "completed", progress: 100, result: settled, detail, errorMessage: null, completedAt: now })
    .where(and(eq(syncJobs.id, job.id), eq(syncJobs.status, "running")))
    .returning({ id: syncJobs.id });
  if (!done) return;
  if (compared) await db.update(sources).set({ verifiedAt: now, drift }).where(eq(sources.id, source.id));
  // The guard's message stays first; the latest finding replaces an earlier one after it.
  if (held) {
    const guard = (source.statusDetail ?? "").replace(/\s*Verify found[\s\S]*$/, "");
    await db
      .update(sources)
      .set({ statusDetail: [guard, detail].filter(Boolean).join(" ") })
      .where(eq(sources.id, source.id));
  }
  if (repair) await requestSync({ sourceId: source.id, type: repair, trigger: "verify" });
}

/** The verify-source job: one attempt at one verify job. */
export async function handleVerifySource(
  jobId: string,
  attempt: { retryCount: number; retryLimit: number },
): Promise<void> {
  const db = getDb();
  const [queued] = await db.select().from(syncJobs).where(eq(syncJobs.id, jobId));
  if (!queued || queued.type !== "verify" || !["queued", "running"].includes(queued.status)) return;
  const [source] = await db.select().from(sources).where(eq(sources.id, queued.sourceId));
  if (!source) return;
  const fail = async (message: string) => {
    await db
      .update(syncJobs)
      .set({ status: "failed", errorMessage: message, detail: null, completedAt: new Date() })
      .where(and(eq(syncJobs.id, jobId), inArray(syncJobs.status, ["queued", "running"])));
  };
  const lastAttempt = attempt.retryCount >= attempt.retryLimit;
  if (await syncPending(source.id)) {
    if (lastAttempt) return fail("A sync of this source kept running; verify again once it is done.");
    await db.update(syncJobs).set({ detail: new VerifyDeferredError().message }).where(eq(syncJobs.id, jobId));
    throw new VerifyDeferredError();
  }
  const [job] = await db
    .update(syncJobs)
    .set({
      status: "running",
      startedAt: queued.startedAt ?? new Date(),
      attempts: sql`${syncJobs.attempts} + 1`,
      detail: null,
    })
    .where(and(eq(syncJobs.id, jobId), inArray(syncJobs.status, ["queued", "running"])))
    .returning();
  if (!job) return;
  try {
    await settle(job, source, await verifySource(source));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ConnectorError && !err.retryable) return fail(message);
    if (lastAttempt) return fail(`${message} (gave up after ${attempt.retryCount + 1} attempts)`);
    await db
      .update(syncJobs)
      .set({ detail: `retrying after: ${message}` })
      .where(eq(syncJobs.id, jobId));
    throw err;
  }
}
