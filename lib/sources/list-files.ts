import { and, asc, eq, gt, like, type SQL } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import { getDb } from "@/lib/db/client";
import { escapeLike } from "@/lib/db/escape-like";
import { files } from "@/lib/db/schema";
import { toFileDto } from "./serialize";

function decodeCursor(cursor: string): string {
  const path = Buffer.from(cursor, "base64url").toString("utf8");
  if (!path) throw new AppError("bad_request", "The cursor is not valid; pass the nextCursor of a previous page.");
  return path;
}

/** One page of a source's files in path order; `nextCursor` is null on the last page. */
export async function listFiles(
  sourceId: string,
  query: { cursor?: string; limit: number; prefix?: string; language?: string },
) {
  const where: SQL[] = [eq(files.sourceId, sourceId)];
  if (query.cursor) where.push(gt(files.path, decodeCursor(query.cursor)));
  if (query.prefix) where.push(like(files.path, `${escapeLike(query.prefix)}%`));
  if (query.language) where.push(eq(files.language, query.language));
  const rows = await getDb()
    .select({
      path: files.path,
      sha: files.sha,
      size: files.size,
      language: files.language,
      lastModified: files.lastModified,
      indexedAt: files.indexedAt,
      lfs: files.lfs,
    })
    .from(files)
    .where(and(...where))
    .orderBy(asc(files.path))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const nextCursor = rows.length > query.limit ? Buffer.from(page.at(-1)!.path, "utf8").toString("base64url") : null;
  return { files: page.map(toFileDto), nextCursor };
}
