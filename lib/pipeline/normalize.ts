const decoder = new TextDecoder("utf-8", { fatal: true });

/** Text as the pipeline wants it: UTF-8 without BOM, `\n` line endings. Latin-1 when not UTF-8. */
export function normalizeText(content: Buffer): string {
  let text: string;
  try {
    text = decoder.decode(content);
  } catch {
    text = content.toString("latin1");
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.replace(/\r\n?/g, "\n");
}
