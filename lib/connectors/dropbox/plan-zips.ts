import type { RemoteFile } from "../types";
import { ZIP_MAX_ENTRIES, ZIP_MAX_FILE_BYTES, ZIP_MAX_FOLDER_BYTES } from "./download-zip";

/** What a listing found at and under each folder (keys: lower-case paths below the source root). */
export type FolderStats = Map<string, { entries: number; bytes: number; largest: number }>;

/** Adds one listed entry (a file with its size, or a folder) to the totals of every folder above it. */
export function countEntry(stats: FolderStats, path: string, size: number | null): void {
  const parts = path.toLowerCase().split("/");
  for (let depth = 0; depth < parts.length; depth++) {
    const folder = parts.slice(0, depth).join("/");
    const total = stats.get(folder) ?? { entries: 0, bytes: 0, largest: 0 };
    total.entries += 1;
    if (size !== null) {
      total.bytes += size;
      total.largest = Math.max(total.largest, size);
    }
    stats.set(folder, total);
  }
}

export type PlannedZip = {
  /** The folder to zip, below the source root ("" for the root itself), as listed. */
  folder: string;
  files: RemoteFile[];
  /** The most its download may weigh: beyond it, files not wanted fill the zip. */
  maxBytes: number;
  /** Why it cannot be zipped, known from the listing before asking; null when it may be. */
  refused: string | null;
};

export type ZipPlan = { zips: PlannedZip[]; single: RemoteFile[] };

/** A zip may weigh this much beyond twice the wanted files (zip headers, files not wanted). */
const ZIP_SLACK_BYTES = 32 * 1024 * 1024;

const dirOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf("/")));

/** The deepest folder holding every one of `paths` (Dropbox compares paths ignoring case). */
function commonFolder(paths: string[]): string {
  let common = dirOf(paths[0]!).split("/").filter(Boolean);
  for (const path of paths) {
    const parts = dirOf(path).split("/");
    let i = 0;
    while (i < common.length && i < parts.length && parts[i]!.toLowerCase() === common[i]!.toLowerCase()) i++;
    common = common.slice(0, i);
  }
  return common.join("/");
}

/**
 * Which folders to download as zips for `files`: the deepest folder that holds them all, or,
 * for a source that is the whole Dropbox (whose root cannot be zipped), one such folder per
 * top-level folder. Files a zip would not save a request for (alone in their folder, or at the
 * top of the whole Dropbox) are read one by one. With a listing's `stats`, a folder over
 * Dropbox's limits, or one mostly filled with files not wanted, is refused before any request.
 */
export function planZips(files: RemoteFile[], wholeDropbox: boolean, stats: FolderStats | null): ZipPlan {
  const groups = new Map<string, RemoteFile[]>();
  const single: RemoteFile[] = [];
  for (const file of files) {
    const slash = file.path.indexOf("/");
    if (wholeDropbox && slash < 0) {
      single.push(file);
      continue;
    }
    const key = wholeDropbox ? file.path.slice(0, slash).toLowerCase() : "";
    const group = groups.get(key) ?? [];
    group.push(file);
    groups.set(key, group);
  }
  const zips: PlannedZip[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) {
      single.push(...group);
      continue;
    }
    const folder = commonFolder(group.map((f) => f.path));
    const wanted = group.reduce((sum, f) => sum + (f.size ?? 0), 0);
    const maxBytes = 2 * wanted + ZIP_SLACK_BYTES;
    const found = stats?.get(folder.toLowerCase());
    let refused: string | null = null;
    if (found) {
      // The zip holds the folder itself as one more entry.
      if (found.entries + 1 >= ZIP_MAX_ENTRIES) refused = `too_many_files: ${found.entries + 1} entries`;
      else if (found.bytes >= ZIP_MAX_FOLDER_BYTES || found.largest >= ZIP_MAX_FILE_BYTES)
        refused = `too_large: ${found.bytes} bytes`;
      else if (found.bytes > maxBytes) refused = `${found.bytes} bytes for ${wanted} bytes of wanted files`;
    }
    zips.push({ folder, files: group, maxBytes, refused });
  }
  return { zips, single };
}
