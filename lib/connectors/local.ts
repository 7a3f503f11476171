import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
  type BigIntStats,
} from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_EXCLUDED_DIRS } from "./excluded-dirs";
import { DEFAULT_MAX_FILE_SIZE } from "./provider-limits";
import { ConnectorConfigError, ConnectorError, ConnectorFileError, ConnectorSyncError } from "./errors";
import type { Connector, ConnectorContext, ConnectorDefinition, ListingFailure, RemoteFile } from "./types";

export const localConfigSchema = z.object({
  path: z.string({ error: "path is required: the absolute folder to index" }).min(1, "path is required"),
});

/** The folders local sources may read, from LOCAL_SOURCE_ROOTS (colon-separated absolute paths). */
export function localSourceRoots(): string[] {
  return (process.env.LOCAL_SOURCE_ROOTS ?? "")
    .split(":")
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => path.resolve(r));
}

/** Whether members (not only admins) may create local sources: LOCAL_SOURCES_FOR_MEMBERS=true. */
export function localSourcesForMembers(): boolean {
  return process.env.LOCAL_SOURCES_FOR_MEMBERS === "true";
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** A path's real path, or null when it does not resolve. */
function realOrNull(p: string): string | null {
  try {
    return realpathSync.native(p);
  } catch {
    return null;
  }
}

function realRoots(): string[] {
  return localSourceRoots().flatMap((r) => realOrNull(r) ?? []);
}

/** DATA_DIR (keys, the embedded database) as a real path: never read by a local source. */
function realDataDir(): string {
  // Read at run time only: the build does not trace the project through it.
  const dir = path.resolve(/*turbopackIgnore: true*/ process.env.DATA_DIR || "./.data");
  return realOrNull(/*turbopackIgnore: true*/ dir) ?? dir;
}

/**
 * Resolves a configured folder to its real path, refusing anything that is not an existing folder
 * under LOCAL_SOURCE_ROOTS, or that contains DATA_DIR or lies inside it. Every refusal reads the
 * same, so that the answer does not tell which paths exist.
 */
export async function resolveLocalRoot(folder: string): Promise<string> {
  const roots = localSourceRoots();
  if (roots.length === 0) {
    throw new ConnectorConfigError(
      "No folder may be read yet: set LOCAL_SOURCE_ROOTS to a colon-separated list of absolute folders (for example LOCAL_SOURCE_ROOTS=/srv/code) and restart the app.",
      "path",
    );
  }
  if (!path.isAbsolute(folder)) {
    throw new ConnectorConfigError(`path must be an absolute folder, got "${folder}".`, "path");
  }
  const refused = new ConnectorConfigError(
    `${folder} is not a folder local sources may read: give an existing folder inside the allowed folders (${roots.join(", ")}), outside the app's data folder.`,
    "path",
  );
  const real = realOrNull(folder);
  if (!real) throw refused;
  if (!realRoots().some((root) => isInside(root, real))) throw refused;
  const data = realDataDir();
  if (isInside(data, real) || isInside(real, data)) throw refused;
  if (!statSync(real, { throwIfNoEntry: false })?.isDirectory()) throw refused;
  return real;
}

const EXCLUDED = new Set(DEFAULT_EXCLUDED_DIRS);
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Errors that mean the entry is gone or is not what the walk follows (a symlink, a file now). */
const NOT_THERE = new Set(["ENOENT", "ENOTDIR", "ELOOP"]);

/** Linux names every open descriptor under /proc/self/fd; elsewhere descriptors are checked by inode. */
const PROC_FD = existsSync("/proc/self/fd");

/**
 * Where an opened descriptor really is: its /proc link, or (without /proc) the real path of
 * `opened` when that path is still the same inode as the descriptor; null when it is not.
 */
function realPathOf(fd: number, opened: string): string | null {
  if (PROC_FD) return readlinkSync(`/proc/self/fd/${fd}`);
  const real = realpathSync(opened);
  const [mine, theirs] = [fstatSync(fd), statSync(real)];
  return mine.dev === theirs.dev && mine.ino === theirs.ino ? real : null;
}

/**
 * A path that reads the opened folder itself. On Linux it resolves from the opened inode, not by
 * walking the name again; elsewhere it is the path checked just before.
 */
const listingPath = (fd: number, checked: string) => (PROC_FD ? `/proc/self/fd/${fd}` : checked);

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? "";
const reason = (err: unknown) => code(err) || (err as Error).message;

/** A local file's version: size, mtime, ctime and inode, so an edit within one mtime tick is seen. */
function versionOf(stat: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint }): string {
  return `${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.ino}`;
}

function remoteFile(rel: string, stat: BigIntStats): RemoteFile {
  return { path: rel, size: Number(stat.size), version: versionOf(stat), lastModified: new Date(Number(stat.mtimeMs)) };
}

/**
 * Reads one folder under one root. Every folder is opened first and the opened descriptor
 * checked (its real path is the expected one: no symlink on the way, outside DATA_DIR), then
 * listed through that descriptor; every file is read the same way, through a checked descriptor,
 * at most maxFileSize + 1 bytes. A symlink swapped in meanwhile never leads outside the root.
 * Symlinked folders are no part of the tree; a symlinked file is read when its target is a
 * regular file inside the root. What cannot be read is recorded as a failure, never as absent.
 *
 * The calls per folder (open, the descriptor's link, readdir, close) and per file (lstat; open,
 * the descriptor's link, fstat, read, close) are synchronous: on a local disk each takes
 * microseconds, a quarter of the CPU of the same call through the promise API and the thread
 * pool (bench/README.md); the listing gives the event loop a turn after each folder. A folder on a network mount that stalls
 * stalls this worker while it reads, which its heartbeat then shows.
 */
class LocalConnector implements Connector {
  private root: Promise<string> | null = null;
  private dataDir: string | null = null;
  private failures = new Map<string, string>();
  constructor(
    private readonly folder: string,
    private readonly maxFileSize: number,
  ) {}

  private rootPath(): Promise<string> {
    this.root ??= resolveLocalRoot(this.folder);
    return this.root;
  }

  private realDataDir(): string {
    this.dataDir ??= realDataDir();
    return this.dataDir;
  }

  async validateConnection(): Promise<void> {
    await this.rootPath();
  }

  takeListingFailures(): ListingFailure[] {
    const failures = [...this.failures].map(([p, error]) => ({ path: p, error }));
    this.failures.clear();
    return failures;
  }

  private fail(relative: string, error: string): void {
    this.failures.set(relative, error);
  }

  /** `relative` as a clean path inside the root, or null (`..`, absolute). */
  private normalize(relative: string): string | null {
    const clean = relative.replace(/^\/+|\/+$/g, "");
    if (clean.split("/").some((s) => s === ".." || s === ".")) return null;
    return clean;
  }

  /** Opens a folder of the tree (no symlink anywhere on its path); null when it is not one. The caller closes it. */
  private openDir(root: string, dataDir: string, relative: string): number | null {
    const expected = relative ? path.join(root, relative) : root;
    const fd = openSync(expected, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      const real = realPathOf(fd, expected);
      if (real === expected && !isInside(dataDir, real)) return fd;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    closeSync(fd);
    return null;
  }

  /**
   * Opens a file of the tree for reading and checks the opened descriptor; null when the path is
   * gone, under a symlinked folder, not a regular file, or a symlink whose target is outside.
   * The caller closes the descriptor.
   */
  private openFile(root: string, dataDir: string, relative: string): { fd: number; stat: BigIntStats } | null {
    const expected = path.join(root, relative);
    const flags = constants.O_RDONLY | constants.O_NONBLOCK;
    let fd: number;
    let symlink = false;
    try {
      fd = openSync(expected, flags | constants.O_NOFOLLOW);
    } catch (err) {
      if (code(err) !== "ELOOP") throw err;
      // The entry itself is a symlink: followed, and judged by where the descriptor landed.
      symlink = true;
      fd = openSync(expected, flags);
    }
    try {
      const real = realPathOf(fd, expected);
      const inside = real !== null && (symlink ? isInside(root, real) : real === expected);
      const parentInTree = !symlink || realpathSync(path.dirname(expected)) === path.dirname(expected);
      if (inside && parentInTree && !isInside(dataDir, real)) {
        const stat = fstatSync(fd, { bigint: true });
        if (stat.isFile()) return { fd, stat };
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    closeSync(fd);
    return null;
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    const [root, dataDir] = [await this.rootPath(), this.realDataDir()];
    const base = this.normalize(start);
    if (base === null) return;
    const waiting = [base];
    while (waiting.length > 0) {
      const read = this.readFolder(root, dataDir, waiting.pop()!);
      if (!read) continue;
      if (recursive) waiting.push(...read.folders);
      for (const file of read.files) yield file;
      // A folder at a time, then the event loop's turn: the listing is synchronous calls.
      await new Promise(setImmediate);
    }
  }

  /**
   * One folder's files (stated through the opened folder) and subfolders to walk; null when it
   * is not a folder of the tree or cannot be read (then recorded as a failure).
   */
  private readFolder(root: string, dataDir: string, relDir: string): { folders: string[]; files: RemoteFile[] } | null {
    let fd: number | null;
    try {
      fd = this.openDir(root, dataDir, relDir);
    } catch (err) {
      if (NOT_THERE.has(code(err))) return null;
      if (!relDir) {
        const message = `Cannot read the source folder ${this.folder} (${reason(err)}); the index is kept as it is. Make the folder readable by the app, then sync again.`;
        throw ["EACCES", "EPERM"].includes(code(err)) ? new ConnectorError(message) : new ConnectorSyncError(message);
      }
      this.fail(relDir, `cannot open this folder (${reason(err)}): its indexed files are kept`);
      return null;
    }
    if (fd === null) return null;
    try {
      const here = listingPath(fd, relDir ? path.join(root, relDir) : root);
      const dirents = readdirSync(here, { withFileTypes: true, encoding: "buffer" });
      const folders: string[] = [];
      const regular: { rel: string; name: string }[] = [];
      const symlinks: string[] = [];
      for (const dirent of dirents) {
        let name: string;
        try {
          name = utf8.decode(dirent.name);
        } catch {
          const shown = new TextDecoder("utf-8").decode(dirent.name);
          this.fail(relDir ? `${relDir}/${shown}` : shown, "the name is not valid UTF-8: skipped");
          continue;
        }
        const rel = relDir ? `${relDir}/${name}` : name;
        if (dirent.isDirectory()) {
          if (!EXCLUDED.has(name)) folders.push(rel);
        } else if (dirent.isFile()) regular.push({ rel, name });
        else if (dirent.isSymbolicLink()) symlinks.push(rel);
      }
      // A listing only names versions; content is read later through its own checked descriptor.
      const stated = regular.map(({ rel, name }) => this.statEntry(`${here}/${name}`, rel));
      const linked = symlinks.map((rel) => this.metadataOf(root, dataDir, rel));
      return { folders, files: [...stated, ...linked].filter((f): f is RemoteFile => f !== null) };
    } catch (err) {
      if (!relDir) {
        throw new ConnectorSyncError(`Cannot list the source folder ${this.folder} (${reason(err)}).`);
      }
      this.fail(relDir, `cannot list this folder (${reason(err)}): its indexed files are kept`);
      return null;
    } finally {
      closeSync(fd);
    }
  }

  private statEntry(at: string, rel: string): RemoteFile | null {
    try {
      const stat = lstatSync(at, { bigint: true });
      return stat.isFile() ? remoteFile(rel, stat) : null;
    } catch (err) {
      if (!NOT_THERE.has(code(err))) this.fail(rel, `cannot read (${reason(err)}): the indexed version is kept`);
      return null;
    }
  }

  async getFileMetadata(relative: string): Promise<RemoteFile | null> {
    const [root, dataDir] = [await this.rootPath(), this.realDataDir()];
    const rel = this.normalize(relative);
    return rel ? this.metadataOf(root, dataDir, rel) : null;
  }

  private metadataOf(root: string, dataDir: string, rel: string): RemoteFile | null {
    let opened: ReturnType<LocalConnector["openFile"]>;
    try {
      opened = this.openFile(root, dataDir, rel);
    } catch (err) {
      if (NOT_THERE.has(code(err))) return null;
      this.fail(rel, `cannot read (${reason(err)}): the indexed version is kept`);
      return null;
    }
    if (!opened) return null;
    closeSync(opened.fd);
    return remoteFile(rel, opened.stat);
  }

  async getFileContent(relative: string): Promise<Buffer> {
    const [root, dataDir] = [await this.rootPath(), this.realDataDir()];
    const rel = this.normalize(relative);
    let opened: ReturnType<LocalConnector["openFile"]> = null;
    try {
      if (rel) opened = this.openFile(root, dataDir, rel);
    } catch (err) {
      if (!NOT_THERE.has(code(err))) throw new ConnectorFileError(relative, `cannot read (${reason(err)})`);
    }
    if (!opened) throw new ConnectorFileError(relative, "the file is gone or outside the source folder");
    try {
      return readCapped(opened.fd, this.maxFileSize, Number(opened.stat.size));
    } catch (err) {
      throw new ConnectorFileError(relative, `cannot read (${reason(err)})`);
    } finally {
      closeSync(opened.fd);
    }
  }

  async currentCursor(): Promise<string | null> {
    return null;
  }
}

/**
 * At most `cap + 1` bytes: enough for the size check to refuse a file over the cap. The first
 * read is sized by the file's stat (one byte more, to see it end), so a small file costs one
 * small buffer; a short read is the end of the file, and a file that grew meanwhile is read on in larger slices.
 */
function readCapped(fd: number, cap: number, statSize: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let want = Math.min(cap, statSize) + 1;
  while (total <= cap) {
    const buffer = Buffer.allocUnsafe(want);
    const bytesRead = readSync(fd, buffer, 0, want, null);
    if (bytesRead === 0) break;
    chunks.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
    if (bytesRead < want) break;
    want = Math.min(cap + 1 - total, 1024 * 1024);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

export const localConnector: ConnectorDefinition = {
  type: "local",
  configSchema: localConfigSchema,
  create: (context: ConnectorContext) =>
    new LocalConnector(
      String(context.config.path ?? ""),
      typeof context.config.maxFileSize === "number" ? context.config.maxFileSize : DEFAULT_MAX_FILE_SIZE,
    ),
};
