import { and, asc, eq } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import { getDb } from "@/lib/db/client";
import { chunks, files } from "@/lib/db/schema";
import { joinChunks } from "@/lib/pipeline/chunk";
import { toFileDto } from "./serialize";

/** One indexed file with its text (rebuilt from the stored chunks) and the chunks. */
export async function getFileContent(sourceId: string, path: string) {
  const db = getDb();
  const [file] = await db
    .select()
    .from(files)
    .where(and(eq(files.sourceId, sourceId), eq(files.path, path)));
  if (!file) throw new AppError("not_found", `The source has no indexed file at "${path}".`);
  const rows = await db
    .select({ ordinal: chunks.ordinal, startLine: chunks.startLine, endLine: chunks.endLine, content: chunks.content })
    .from(chunks)
    .where(eq(chunks.fileId, file.id))
    .orderBy(asc(chunks.ordinal));
  return { file: toFileDto(file), content: joinChunks(rows), chunks: rows };
}

/** The file's id at its provider (Drive's file id), for its page there; null when it has none. */
export async function fileProviderId(sourceId: string, path: string): Promise<string | null> {
  const [row] = await getDb()
    .select({ providerId: files.providerId })
    .from(files)
    .where(and(eq(files.sourceId, sourceId), eq(files.path, path)));
  return row?.providerId ?? null;
}
