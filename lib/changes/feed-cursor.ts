import { AppError } from "@/lib/api/errors";

// A feed cursor wraps the `seq` of the last change served and the retention mark (the highest
// pruned deletion, see list-changes) the reader's feed had before that page was read, so that
// clients treat it as opaque and a prune after it was given is recognised. Seq 0 is the
// beginning: the oldest retained change of every path.

export type FeedPosition = { seq: number; pruned: number };

const PATTERN = /^c1\.(\d{1,16})\.(\d{1,16})$/;

export function encodeFeedCursor(position: FeedPosition): string {
  return Buffer.from(`c1.${position.seq}.${position.pruned}`, "utf8").toString("base64url");
}

export function decodeFeedCursor(cursor: string): FeedPosition {
  const match = PATTERN.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const seq = Number(match?.[1]);
  const pruned = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(seq) || !Number.isSafeInteger(pruned))
    throw new AppError("bad_request", "The cursor is not valid; pass the `cursor` of a previous answer as `after`.");
  return { seq, pruned };
}
