import { and, isNotNull, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { requestVerify } from "./request-verify";

/** VERIFY_INTERVAL: seconds between verifies of a source (default a day), or `off`. */
export function verifyIntervalSeconds(): number | null {
  const raw = process.env.VERIFY_INTERVAL?.trim();
  if (!raw) return 86_400;
  if (raw.toLowerCase() === "off") return null;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`VERIFY_INTERVAL must be a number of seconds or "off", not "${raw}".`);
  return seconds;
}

/**
 * Queues a verify of every synced source whose last verify (or, never verified, its creation)
 * is older than VERIFY_INTERVAL and that has no verify waiting or running.
 */
export async function scheduleVerifies(): Promise<{ queued: number }> {
  const interval = verifyIntervalSeconds();
  if (interval === null) return { queued: 0 };
  const due = await getDb()
    .select({ id: sources.id })
    .from(sources)
    .where(
      and(
        isNotNull(sources.lastSyncAt),
        sql`coalesce(${sources.verifiedAt}, ${sources.createdAt}) < now() - make_interval(secs => ${interval})`,
        sql`not exists (select 1 from sync_jobs j where j.source_id = ${sources.id} and j.type = 'verify' and j.status in ('queued', 'running'))`,
      ),
    );
  for (const { id } of due) await requestVerify(id, "schedule");
  return { queued: due.length };
}
