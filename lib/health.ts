import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { getBoss } from "@/lib/queue/boss";

/** Database and queue both answer. */
export async function checkHealth(): Promise<{ ok: boolean; database: boolean; queue: boolean }> {
  const database = await getDb()
    .execute(sql`select 1`)
    .then(
      () => true,
      () => false,
    );
  const queue = await getBoss()
    .then((boss) => boss.isInstalled())
    .catch(() => false);
  return { ok: database && queue, database, queue };
}
