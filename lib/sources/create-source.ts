import { eq } from "drizzle-orm";
import type { Actor } from "@/lib/auth/api-tokens";
import type { Db } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { requestSync } from "@/lib/sync/request-sync";
import type { CreateSourceBody } from "./schemas";
import { toSourceDto } from "./serialize";
import { checkSourceConfig } from "./validate-config";

/** Connects a source: validate against the provider, store it, queue its first full sync. */
export async function createSource(db: Db, actor: Actor, body: CreateSourceBody) {
  const config = await checkSourceConfig(body.type, body.config);
  const [source] = await db.insert(sources).values({ type: body.type, name: body.name, config, userId: actor.userId }).returning();
  try {
    const { job } = await requestSync({ sourceId: source!.id, type: "full", trigger: "create" });
    return { source: toSourceDto(source!), jobId: job.id };
  } catch (err) {
    await db.delete(sources).where(eq(sources.id, source!.id));
    throw err;
  }
}
