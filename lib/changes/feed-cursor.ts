import { AppError } from "@/lib/api/errors";

// A feed cursor is the `seq` of the last change served, wrapped so that clients treat it as
// opaque. 0 is the beginning: the oldest retained change of every path.

const PREFIX = "c1.";

export function encodeFeedCursor(seq: number): string {
  return Buffer.from(`${PREFIX}${seq}`, "utf8").toString("base64url");
}

export function decodeFeedCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const seq = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(seq) || seq < 0 || `${PREFIX}${seq}` !== text)
    throw new AppError("bad_request", "The cursor is not valid; pass the `cursor` of a previous answer as `after`.");
  return seq;
}

export const FEED_START = encodeFeedCursor(0);
