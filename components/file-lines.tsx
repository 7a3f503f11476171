import type { CSSProperties } from "react";
import type { HighlightedLine } from "@/lib/highlighted-line";

type Chunk = { ordinal: number; startLine: number; endLine: number };

/** The chunk a line belongs to: the last one starting at or before it (chunks may overlap). */
function chunkAt(chunks: Chunk[], line: number): Chunk | undefined {
  let found: Chunk | undefined;
  for (const c of chunks) if (c.startLine <= line && line <= c.endLine) found = c;
  return found;
}

/**
 * A file's text, once: line numbers in a gutter that marks where each chunk starts (hovering a
 * number names its chunk and the chunk's lines), the code highlighted on the server.
 */
export function FileLines({
  lines,
  chunks,
  highlighted,
}: {
  lines: HighlightedLine[];
  chunks: Chunk[];
  highlighted: boolean;
}) {
  const starts = new Set(chunks.map((c) => c.startLine));
  return (
    <div
      data-testid="file-content"
      data-highlighted={highlighted}
      className="shiki max-h-[40rem] overflow-auto rounded-lg border border-zinc-200 bg-white py-2 font-mono text-xs leading-5 dark:border-zinc-800 dark:bg-zinc-950"
      tabIndex={0}
      role="region"
      aria-label="File content"
    >
      <table className="border-collapse">
        <tbody>
          {lines.map((runs, i) => {
            const n = i + 1;
            const chunk = chunkAt(chunks, n);
            const odd = chunk ? chunk.ordinal % 2 === 1 : false;
            return (
              <tr key={n} data-chunk-start={starts.has(n) ? chunk?.ordinal : undefined}>
                <td
                  title={chunk ? `Chunk ${chunk.ordinal + 1} · lines ${chunk.startLine}–${chunk.endLine}` : undefined}
                  className={`select-none border-l-4 px-3 text-right align-top tabular-nums text-zinc-400 ${
                    chunk
                      ? odd
                        ? "border-sky-300 dark:border-sky-800"
                        : "border-violet-300 dark:border-violet-800"
                      : "border-transparent"
                  } ${starts.has(n) ? "border-t border-t-zinc-300 dark:border-t-zinc-700" : ""}`}
                >
                  {n}
                </td>
                <td className="whitespace-pre pr-4 align-top">
                  {runs.map((run, j) => (
                    <span key={j} style={run.style as CSSProperties | undefined}>
                      {run.content}
                    </span>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
