import "server-only";
import { bundledLanguages, codeToTokens, type BundledLanguage } from "shiki";
import type { HighlightedLine } from "./highlighted-line";

/** Above this many bytes a file is shown as plain text: highlighting it would cost more than it helps. */
export const HIGHLIGHT_MAX_BYTES = 200 * 1024;

/** Our language names that shiki knows by another. */
const SHIKI_NAMES: Record<string, string> = { protobuf: "proto", restructuredtext: "rst", shell: "shellscript" };

/**
 * The file's lines, highlighted on the server with shiki's bundled grammars (no network) in a
 * fixed light/dark theme pair; plain runs for unknown languages and files over HIGHLIGHT_MAX_BYTES.
 */
export async function highlightLines(
  text: string,
  language: string | null,
): Promise<{ lines: HighlightedLine[]; highlighted: boolean }> {
  const name = language ? (Object.hasOwn(SHIKI_NAMES, language) ? SHIKI_NAMES[language]! : language) : null;
  const plain = () => ({ lines: text.split("\n").map((line) => [{ content: line }]), highlighted: false });
  if (!name || !(name in bundledLanguages) || Buffer.byteLength(text, "utf8") > HIGHLIGHT_MAX_BYTES) return plain();
  const { tokens } = await codeToTokens(text, {
    lang: name as BundledLanguage,
    themes: { light: "github-light", dark: "github-dark" },
  });
  return {
    lines: tokens.map((line) =>
      line.map((token) => ({
        content: token.content,
        style: typeof token.htmlStyle === "object" ? (token.htmlStyle as Record<string, string>) : undefined,
      })),
    ),
    highlighted: true,
  };
}
