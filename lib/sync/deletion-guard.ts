import { SyncStoppedError } from "./sync-stopped-error";

/** Fewer vanished files than this never hold a sync back, whatever share of the index they are. */
const GUARD_MIN_FILES = 10;
const DEFAULT_FRACTION = 0.5;

/** The share of a source's indexed files one sync may remove as vanished (SYNC_DELETE_GUARD; 1 turns the guard off). */
export function deleteGuardFraction(): number {
  const raw = process.env.SYNC_DELETE_GUARD;
  const fraction = raw === undefined || raw.trim() === "" ? DEFAULT_FRACTION : Number(raw);
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1)
    throw new SyncStoppedError(`SYNC_DELETE_GUARD must be a number from 0 to 1 (got "${raw}"); fix it and restart.`);
  return fraction;
}

export type GuardCounts = {
  /** Indexed files this sync would remove because they are gone from the source. */
  vanished: number;
  /** Paths this sync would add: files moved or renamed come back under them. */
  added?: number;
  /** The source's indexed files before this sync. */
  indexed: number;
};

/**
 * True when what a sync would remove, net of what it adds (a renamed folder removes nothing in
 * the end), is too much to do unasked: at least 10 files, and more than `fraction` of the index
 * (an unmounted folder, an emptied branch).
 */
export function deletionGuardHolds({ vanished, added = 0, indexed }: GuardCounts, fraction = deleteGuardFraction()) {
  const lost = vanished - added;
  return fraction < 1 && lost >= GUARD_MIN_FILES && lost > indexed * fraction;
}

/**
 * Throws SyncStoppedError, before anything is written or delivered, when the guard holds.
 * Files the source's own filters drop are not counted: only files that vanished from the source.
 */
export function checkDeletionGuard(sourceId: string, counts: GuardCounts): void {
  if (!deletionGuardHolds(counts)) return;
  const added = counts.added ? ` (and add ${counts.added})` : "";
  throw new SyncStoppedError(
    `This sync would delete ${counts.vanished} files of ${counts.indexed} in the index${added} because they are no ` +
      `longer in the source, so it deleted none. If they were removed on purpose, confirm the deletions: ` +
      `"Delete and sync" on the source, or POST /api/sources/${sourceId}/sync with ` +
      `{"type": "full", "confirmDeletes": true}. Otherwise check that the source is reachable and complete.`,
  );
}
