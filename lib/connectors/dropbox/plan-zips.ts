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

/** Why a listed folder cannot be zipped for `wanted` bytes of files, or null when it can. */
function refusal(stats: FolderStats | null, folder: string, wanted: number): string | null {
  const found = stats?.get(folder.toLowerCase());
  if (!found) return null;
  // The zip holds the folder itself as one more entry.
  if (found.entries + 1 >= ZIP_MAX_ENTRIES) return "too_many_files";
  if (found.bytes >= ZIP_MAX_FOLDER_BYTES || found.largest >= ZIP_MAX_FILE_BYTES) return "too_large";
  if (found.bytes > 2 * wanted + ZIP_SLACK_BYTES) return "mostly files not wanted";
  return null;
}

/**
 * Which folders to download as zips for `files`: the deepest folder that holds them all. One
 * that cannot be zipped (the root of the whole Dropbox, or, by a listing's `stats`, a folder
 * over Dropbox's limits or mostly filled with files not wanted) is split into its subfolders,
 * each planned the same way, and the files directly in it are read one by one, as is a file
 * that a zip would not save a request for (alone in its folder).
 */
export function planZips(files: RemoteFile[], wholeDropbox: boolean, stats: FolderStats | null): ZipPlan {
  const plan: ZipPlan = { zips: [], single: [] };
  const visit = (group: RemoteFile[]) => {
    if (group.length < 2) {
      plan.single.push(...group);
      return;
    }
    const folder = commonFolder(group.map((f) => f.path));
    const wanted = group.reduce((sum, f) => sum + (f.size ?? 0), 0);
    if (!(wholeDropbox && folder === "") && refusal(stats, folder, wanted) === null) {
      plan.zips.push({ folder, files: group, maxBytes: 2 * wanted + ZIP_SLACK_BYTES });
      return;
    }
    const children = new Map<string, RemoteFile[]>();
    const below = folder ? folder.length + 1 : 0;
    for (const file of group) {
      const slash = file.path.indexOf("/", below);
      if (slash < 0) {
        plan.single.push(file);
        continue;
      }
      const child = file.path.slice(below, slash).toLowerCase();
      const siblings = children.get(child);
      if (siblings) siblings.push(file);
      else children.set(child, [file]);
    }
    for (const child of children.values()) visit(child);
  };
  visit(files);
  return plan;
}
