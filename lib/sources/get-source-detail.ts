import { sql } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { getSourceOrThrow } from "./get-source-or-throw";
import { latestJobs } from "./list-sources";
import { toSourceDto } from "./serialize";

/** One source with its latest job and file count (what the API and the source page show). */
export async function getSourceDetail(actor: Actor, id: string) {
  const source = await getSourceOrThrow(actor, id);
  const jobs = await latestJobs([id]);
  return toSourceDto(source, { latestJob: jobs.get(id) ?? null });
}

/** The languages a source's files are in, for the file browser's filter (a skip scan over the index). */
export async function sourceLanguages(sourceId: string): Promise<string[]> {
  const result = await getDb().execute<{ language: string }>(sql`
    with recursive langs(language) as (
      (select language from files where source_id = ${sourceId} and language is not null order by language limit 1)
      union all
      select (select f.language from files f where f.source_id = ${sourceId} and f.language > langs.language order by f.language limit 1)
      from langs where langs.language is not null
    )
    select language from langs where language is not null`);
  return result.rows.map((r) => r.language);
}
