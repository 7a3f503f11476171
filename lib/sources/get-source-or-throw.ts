import { and, eq, type SQL } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { sources, type Source } from "@/lib/db/schema";

/** The sources an actor may see: admins all, members their own. */
export function visibleSources(actor: Actor): SQL | undefined {
  return actor.role === "admin"
    ? undefined
    : eq(sources.userId, actor.userId ?? "00000000-0000-0000-0000-000000000000");
}

/** A source the actor may see; another user's source is a 404 like a missing one. */
export async function getSourceOrThrow(actor: Actor, id: string): Promise<Source> {
  const [source] = await getDb()
    .select()
    .from(sources)
    .where(and(eq(sources.id, id), visibleSources(actor)));
  if (!source) throw new AppError("not_found", `No source with id ${id}.`);
  return source;
}
