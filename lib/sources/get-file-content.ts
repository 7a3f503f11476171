import { gunzipSync } from "node:zlib";
import { and, eq } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import { getDb } from "@/lib/db/client";
import { chunks, fileContents, files } from "@/lib/db/schema";
import { joinChunks, withChunkText } from "@/lib/pipeline/chunk";
import { normalizeText } from "@/lib/pipeline/normalize";
import { toFileDto } from "./serialize";

/**
 * One indexed file with its delivered text (rebuilt from the stored chunks) and the chunks; a
 * chunk stored without text takes its lines from the file's stored content.
 */
export async function getFileContent(sourceId: string, path: string) {
  const db = getDb();
  const [file] = await db
    .select()
    .from(files)
    .where(and(eq(files.sourceId, sourceId), eq(files.path, path)));
  if (!file) throw new AppError("not_found", `The source has no indexed file at "${path}".`);
  const [row] = await db.select().from(chunks).where(eq(chunks.fileId, file.id));
  const rows = (row?.startLines ?? []).map((startLine, ordinal) => ({
    ordinal,
    startLine,
    endLine: row!.endLines[ordinal]!,
    content: row!.contents?.[ordinal] ?? null,
  }));
  const text = rows.some((r) => r.content === null) ? await deliveredText(file.deliveredSha ?? file.sha) : "";
  const filled = withChunkText(rows, text.split("\n"));
  return { file: toFileDto(file), content: joinChunks(filled), chunks: filled };
}

async function deliveredText(sha: string | null): Promise<string> {
  const [stored] = sha
    ? await getDb().select({ content: fileContents.content }).from(fileContents).where(eq(fileContents.sha, sha))
    : [];
  // Pruning keeps the content of every delivered version (see pruneContents).
  if (!stored) throw new AppError("conflict", "The stored content of this file's delivered version is missing.");
  return normalizeText(gunzipSync(stored.content));
}

/** The file's id at its provider (Drive's file id), for its page there; null when it has none. */
export async function fileProviderId(sourceId: string, path: string): Promise<string | null> {
  const [row] = await getDb()
    .select({ providerId: files.providerId })
    .from(files)
    .where(and(eq(files.sourceId, sourceId), eq(files.path, path)));
  return row?.providerId ?? null;
}
