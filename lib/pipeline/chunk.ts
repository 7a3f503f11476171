/** Lines `startLine`..`endLine` of a file's text (1-based, inclusive), `ordinal`-th in its file. */
export type ChunkRange = { ordinal: number; startLine: number; endLine: number };
export type TextChunk = ChunkRange & { content: string };
/**
 * A chunk as the index stores it. `content` is null when the chunk is the embedded pipeline's
 * own cut of the file's own normalized text: the text is then kept once, in the file's stored
 * content, and read from there (see withChunkText); a chunk stage's chunks carry their text.
 */
export type StoredChunk = ChunkRange & { content: string | null };

export const CHUNK_LINES = 60;
export const CHUNK_OVERLAP = 10;
/** How far back from a window's end a blank line may be used as the cut. */
const CUT_SEARCH = 20;

/**
 * Line windows of about CHUNK_LINES lines, each starting CHUNK_OVERLAP lines before the
 * previous one ended, cut after a blank line where one is near the window's end so that
 * chunks follow paragraphs and functions. Lines are 1-based and inclusive.
 */
export function chunkLines(lines: readonly string[], size = CHUNK_LINES, overlap = CHUNK_OVERLAP): ChunkRange[] {
  if (lines.length === 1 && lines[0] === "") return [];
  const chunks: ChunkRange[] = [];
  let start = 0;
  while (start < lines.length) {
    let end = Math.min(start + size, lines.length);
    if (end < lines.length) {
      for (let i = end - 1; i > end - CUT_SEARCH && i > start + overlap; i--) {
        if (lines[i]!.trim() === "") {
          end = i + 1;
          break;
        }
      }
    }
    chunks.push({ ordinal: chunks.length, startLine: start + 1, endLine: end });
    if (end >= lines.length) break;
    start = Math.max(end - overlap, start + 1);
  }
  return chunks;
}

/** chunkLines of `text`, each chunk with its lines. */
export function chunkText(text: string, size = CHUNK_LINES, overlap = CHUNK_OVERLAP): TextChunk[] {
  const lines = text.split("\n");
  return withChunkText(chunkLines(lines, size, overlap), lines);
}

/** `chunks` with the text of each that has none taken from `lines`, the file's normalized text split at `\n`. */
export function withChunkText<T extends ChunkRange & { content?: string | null }>(
  chunks: T[],
  lines: readonly string[],
): (T & { content: string })[] {
  return chunks.map((c) =>
    typeof c.content === "string"
      ? (c as T & { content: string })
      : { ...c, content: lines.slice(c.startLine - 1, c.endLine).join("\n") },
  );
}

/** The text the chunks were cut from: every line once, overlaps dropped. */
export function joinChunks(chunks: Pick<TextChunk, "startLine" | "endLine" | "content">[]): string {
  const lines: string[] = [];
  for (const chunk of chunks) {
    const chunkLines = chunk.content.split("\n");
    const skip = Math.max(0, lines.length - (chunk.startLine - 1));
    lines.push(...chunkLines.slice(skip));
  }
  return lines.join("\n");
}
