import { and, desc, eq, ne } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { syncJobs, type Source } from "@/lib/db/schema";

/**
 * Whether the deletion guard holds this source's syncs back: its latest sync failed asking
 * for a confirmed full sync (`confirmDeletes`). A repair then would only be held back again.
 */
export async function isDeletionGuardHolding(source: Pick<Source, "id">): Promise<boolean> {
  const [latest] = await getDb()
    .select({ status: syncJobs.status, errorMessage: syncJobs.errorMessage })
    .from(syncJobs)
    .where(and(eq(syncJobs.sourceId, source.id), ne(syncJobs.type, "verify")))
    .orderBy(desc(syncJobs.createdAt))
    .limit(1);
  return latest?.status === "failed" && /confirmDeletes/.test(latest.errorMessage ?? "");
}
