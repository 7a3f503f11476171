import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { listLiveWorkers } from "@/lib/workers/list-live-workers";
import type { Health } from "@/lib/workers/schemas";

/**
 * `ok` means the database answers (start-up scripts and load balancers wait on it). Callers who
 * are signed in or hold an API token also see the live workers; anonymous ones do not.
 */
export async function checkHealth({ withWorkers = false } = {}): Promise<Health> {
  const database = await getDb()
    .execute(sql`select 1`)
    .then(
      () => true,
      () => false,
    );
  if (!withWorkers) return { ok: database, database };
  const workers = database ? await listLiveWorkers().catch(() => []) : [];
  return { ok: database, database, workers };
}
