import { asc, count, eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { syncJobFailures } from "@/lib/db/schema";
import type { JobFailuresResponse } from "@/lib/sources/schemas";

/** The files a job could not index and why, in path order (at most `limit`), and how many there are. */
export async function listJobFailures(jobId: string, limit = 500): Promise<JobFailuresResponse> {
  const db = getDb();
  const [rows, [total]] = await Promise.all([
    db
      .select({ path: syncJobFailures.path, error: syncJobFailures.error, createdAt: syncJobFailures.createdAt })
      .from(syncJobFailures)
      .where(eq(syncJobFailures.jobId, jobId))
      .orderBy(asc(syncJobFailures.path))
      .limit(limit),
    db.select({ n: count() }).from(syncJobFailures).where(eq(syncJobFailures.jobId, jobId)),
  ]);
  return { failures: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })), total: total?.n ?? 0 };
}

/** Every failed path of a job (for a retry). */
export async function failedPaths(jobId: string): Promise<string[]> {
  const rows = await getDb()
    .select({ path: syncJobFailures.path })
    .from(syncJobFailures)
    .where(eq(syncJobFailures.jobId, jobId));
  return rows.map((r) => r.path);
}
