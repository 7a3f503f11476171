export type TextChunk = { ordinal: number; startLine: number; endLine: number; content: string };

export const CHUNK_LINES = 60;
export const CHUNK_OVERLAP = 10;
/** How far back from a window's end a blank line may be used as the cut. */
const CUT_SEARCH = 20;

/**
 * Line windows of about CHUNK_LINES lines, each starting CHUNK_OVERLAP lines before the
 * previous one ended, cut after a blank line where one is near the window's end so that
 * chunks follow paragraphs and functions. Lines are 1-based and inclusive.
 */
export function chunkText(text: string, size = CHUNK_LINES, overlap = CHUNK_OVERLAP): TextChunk[] {
  if (text.length === 0) return [];
  const lines = text.split("\n");
  const chunks: TextChunk[] = [];
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
    chunks.push({
      ordinal: chunks.length,
      startLine: start + 1,
      endLine: end,
      content: lines.slice(start, end).join("\n"),
    });
    if (end >= lines.length) break;
    start = Math.max(end - overlap, start + 1);
  }
  return chunks;
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
