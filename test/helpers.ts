import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { createApiToken } from "@/lib/auth/api-tokens";
import { hashPassword } from "@/lib/auth/passwords";
import { encodeSessionCookie } from "@/lib/auth/session";
import { changes, files, sources, syncJobs, users } from "@/lib/db/schema";
import { closeDb, getDb } from "@/lib/db/client";
import { getBoss, stopBoss } from "@/lib/queue/boss";
import { pollSources } from "@/lib/queue/poll-sources";
import { stopCandidateCache } from "@/lib/webhooks/webhook-candidates";
import { stopChangesListener } from "@/lib/changes/changes-listener";

export const db = () => getDb();

/** Polls as if every polled source's time had come (when is poll-schedule's, tested on its own). */
export async function pollDueSources(): Promise<{ checked: number; queued: number }> {
  await getDb()
    .update(sources)
    .set({ nextPollAt: new Date(0) });
  return pollSources();
}

/** Empties every table and queue between tests. */
export async function resetDb(): Promise<void> {
  await retryOnDeadlock(() =>
    getDb().execute(
      sql`truncate users, credentials, api_tokens, sign_in_throttles, revoked_sessions, oauth_states, sources, drive_channels, files, chunks, sync_jobs, sync_job_failures, sync_job_batches, webhook_events, changes, changes_pruned, file_contents, poll_budgets restart identity cascade`,
    ),
  );
  const boss = await getBoss();
  await retryOnDeadlock(() => boss.deleteAllJobs());
}

/**
 * A worker of the test may be reading the tables being emptied; TRUNCATE (ours, or pg-boss's
 * in deleteAllJobs) can then lose a deadlock (40P01), which is safe to retry.
 */
async function retryOnDeadlock(run: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run();
      return;
    } catch (err) {
      const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      if (code !== "40P01" || attempt >= 5) throw err;
    }
  }
}

/** Closes the queue and the pool so the test process can exit. */
export async function closeAll(): Promise<void> {
  await stopBoss({ timeout: 5000 });
  await stopCandidateCache();
  await stopChangesListener();
  await closeDb();
}

export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 50, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function tempDir(prefix = "dc-test-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

/**
 * writeTree for folders a sync may be reading: each file is written beside the folder and
 * renamed into place, so a reader sees the old content or the new, never the empty file a
 * plain write starts with (a version the test would then find delivered).
 */
export function writeTreeAtomically(root: string, files: Record<string, string | Buffer>): void {
  const staging = mkdtempSync(path.join(path.dirname(root), ".staging-"));
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    const staged = path.join(staging, rel.replaceAll("/", "__"));
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(staged, content);
    renameSync(staged, full);
  }
  rmSync(staging, { recursive: true, force: true });
}

/** A user with an API token and a session cookie, as the dashboard would have it. */
/** Runs `fn` with environment variables set, restoring them after. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function signedInUser(email: string, role: "admin" | "member" = "member") {
  const [user] = await getDb()
    .insert(users)
    .values({ email, role, passwordHash: await hashPassword("a long test password") })
    .returning();
  const token = await createApiToken(`${email} token`, user!.id);
  return { id: user!.id, email, token, cookie: await encodeSessionCookie(user!) };
}

export async function operatorToken(): Promise<string> {
  return createApiToken("test", null);
}

type CallOptions = {
  body?: unknown;
  rawBody?: string;
  contentType?: string | null;
  token?: string | null;
  params?: Record<string, string>;
  /** A Cookie header (a session from `signedInUser`, the OAuth binding cookie). */
  cookie?: string;
  headers?: Record<string, string>;
};
type RouteHandler = (request: Request, context: { params: Promise<never> }) => Promise<Response>;

/** Calls a route handler as Next.js would, returning status, content type and JSON body. */
export async function call(handler: RouteHandler, method: string, url: string, options: CallOptions = {}) {
  const headers = new Headers(options.headers);
  if (options.cookie) headers.set("cookie", options.cookie);
  if (options.token !== null && options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && options.contentType !== null)
    headers.set("content-type", options.contentType ?? "application/json");
  const request = new Request(new URL(url, "http://localhost"), { method, headers, body });
  const response = await handler(request, { params: Promise.resolve((options.params ?? {}) as never) });
  const text = await response.text();
  const json = text && /json/.test(response.headers.get("content-type") ?? "") ? JSON.parse(text) : null;
  return { status: response.status, type: response.headers.get("content-type"), json, headers: response.headers, text };
}

/** Waits for a sync job to settle (completed, failed or cancelled) and returns it. */
export async function waitForJob(jobId: string) {
  return waitFor(
    async () => {
      const [job] = await getDb().select().from(syncJobs).where(eq(syncJobs.id, jobId));
      return job && ["completed", "failed", "cancelled"].includes(job.status) ? job : null;
    },
    { what: `job ${jobId} to finish` },
  );
}

/** The index of a source, by path. */
export async function indexed(sourceId: string) {
  const rows = await getDb().select().from(files).where(eq(files.sourceId, sourceId));
  return new Map(rows.map((r) => [r.path, r]));
}

/** Everything the pipeline accepted for a source (its delivered changes), in the order delivered. */
export async function deliveries(sourceId: string) {
  return getDb()
    .select()
    .from(changes)
    .where(and(eq(changes.sourceId, sourceId), eq(changes.status, "delivered")))
    .orderBy(changes.deliveredAt, changes.seq);
}

export async function deliveryCount(sourceId: string) {
  return (await deliveries(sourceId)).length;
}

/** The deliveries after the first `count`, as sorted "op path" lines. */
export async function deliveredSince(sourceId: string, count: number) {
  return (await deliveries(sourceId))
    .slice(count)
    .map((d) => `${d.op} ${d.path}`)
    .sort();
}
