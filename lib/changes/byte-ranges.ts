/**
 * Many byte strings (texts are sent as UTF-8) as one binary query parameter and their ranges in
 * it (1-based, for SQL's `substring(blob from start for length)`). node-postgres sends a Buffer
 * as it is; an array of texts or byteas would be escaped (bytea as hex, twice the size) by the
 * driver and parsed again by the server.
 */
export function byteRanges(parts: (Buffer | string)[]): { blob: Buffer; starts: number[]; lengths: number[] } {
  const lengths = parts.map((p) => (typeof p === "string" ? Buffer.byteLength(p) : p.length));
  const blob = Buffer.allocUnsafe(lengths.reduce((a, b) => a + b, 0));
  const starts: number[] = [];
  let at = 0;
  parts.forEach((part, i) => {
    starts.push(at + 1);
    if (typeof part === "string") blob.write(part, at);
    else part.copy(blob, at);
    at += lengths[i]!;
  });
  return { blob, starts, lengths };
}
