import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DropboxResponseError, type Dropbox, type files } from "dropbox";
import { z } from "zod";
import { resolveAccessToken, tokenConfigSchema } from "../credentials";
import { ConnectorConfigError, ConnectorFileError, ConnectorSyncError } from "../errors";
import type {
  ConnectionInfo,
  Connector,
  ConnectorContext,
  ConnectorDefinition,
  Delta,
  FileChange,
  RemoteFile,
  RemoteFileWithContent,
  StreamFilesOptions,
} from "../types";
import { waitOutRateLimits } from "../wait-out-rate-limits";
import { logger } from "@/lib/log";
import { createDropboxClient, errorSummary, toConnectorError } from "./client";
import { dropboxContentHash } from "./content-hash";
import { downloadZip, readZipEntries, ZipUnavailableError } from "./download-zip";
import { countEntry, planZips, type FolderStats, type PlannedZip } from "./plan-zips";

export const dropboxConfigSchema = tokenConfigSchema.extend({
  path: z
    .string({ error: 'path is required: the Dropbox folder to index, "/" for the whole Dropbox' })
    .refine((p) => p === "" || p.startsWith("/"), 'path must start with "/" (for example "/Documents")'),
});

/** Entries per list_folder page (Dropbox's maximum is 2,000). */
const PAGE_LIMIT = 2000;
/** Files a complete stream could not read (refused downloads): every other file was given. */
export class FilesUnreadError extends ConnectorSyncError {
  constructor(readonly errors: ConnectorFileError[]) {
    super(`${errors.length} file(s) could not be downloaded (${errors[0]!.message}); they are read again one by one.`);
    this.name = "FilesUnreadError";
  }
}

/**
 * Beside its zips, a stream of every file downloads at most this many files alone (bad
 * entries, lone files), this many at a time; with more, the caller reads them one by one.
 */
const MAX_LONE_DOWNLOADS = 100;
const LONE_DOWNLOADS_AT_ONCE = 8;

type Listed = files.FileMetadataReference | files.FolderMetadataReference | files.DeletedMetadataReference;

class DropboxConnector implements Connector {
  private client: Promise<Dropbox> | null = null;
  /** "" for the whole Dropbox, else "/Folder" without a trailing slash. */
  private readonly root: string;
  /** The last whole listing's totals per folder, for planning zips. */
  private rootStats: FolderStats | null = null;
  /** Files streamFiles listed and the next whole listing answers without asking again. */
  private listedForStream: RemoteFile[] | null = null;
  /** Folders (below the root) whose zip failed in this run: not asked for again. */
  private readonly failedZips = new Set<string>();

  constructor(private readonly context: ConnectorContext) {
    this.root = String(context.config.path ?? "").replace(/\/+$/, "");
  }

  private dbx(): Promise<Dropbox> {
    this.client ??= resolveAccessToken(this.context).then(createDropboxClient);
    return this.client;
  }

  /** One API call: errors as connector errors, rate limits waited out and shown on the job. */
  private call<T>(what: string, fn: (dbx: Dropbox) => Promise<{ result: T }>): Promise<T> {
    return waitOutRateLimits(async () => {
      const dbx = await this.dbx();
      try {
        return (await fn(dbx)).result;
      } catch (err) {
        throw toConnectorError(err, what);
      }
    }, this.context.onWait);
  }

  private absolute(relative: string): string {
    const rel = relative.replace(/^\/+|\/+$/g, "");
    return rel ? `${this.root}/${rel}` : this.root;
  }

  /** The path below the root, from an entry's display path (its casing, the root's length). */
  private relative(entry: { path_display?: string; path_lower?: string }): string {
    const full = entry.path_display ?? entry.path_lower ?? "";
    return full.slice(this.root.length).replace(/^\/+/, "");
  }

  private toRemote(entry: files.FileMetadataReference): RemoteFile {
    return {
      path: this.relative(entry),
      size: entry.size,
      version: entry.content_hash ?? null,
      id: entry.id,
      lastModified: new Date(entry.server_modified),
    };
  }

  async validateConnection(): Promise<ConnectionInfo> {
    const account = await this.call("reading the account", (dbx) => dbx.usersGetCurrentAccount());
    if (this.root) {
      let meta: Listed;
      try {
        meta = await this.call(`the folder ${this.root}`, (dbx) => dbx.filesGetMetadata({ path: this.root }));
      } catch (err) {
        if (err instanceof DropboxResponseError && err.status === 409) {
          throw new ConnectorConfigError(
            `The Dropbox folder ${this.root} does not exist (${errorSummary(err)}).`,
            "path",
          );
        }
        throw err;
      }
      if (meta[".tag"] !== "folder")
        throw new ConnectorConfigError(`${this.root} is a file in Dropbox, not a folder.`, "path");
    }
    return { accountId: account.account_id };
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    const whole = start.replace(/^\/+|\/+$/g, "") === "" && recursive;
    if (whole && this.listedForStream) {
      const listed = this.listedForStream;
      this.listedForStream = null;
      yield* listed;
      return;
    }
    const stats: FolderStats | null = whole ? new Map() : null;
    for await (const entry of this.listEntries(start, recursive)) {
      if (stats) countEntry(stats, this.relative(entry), entry[".tag"] === "file" ? entry.size : null);
      if (entry[".tag"] === "file") yield this.toRemote(entry);
    }
    if (stats) this.rootStats = stats;
  }

  private async *listEntries(start: string, recursive: boolean): AsyncIterable<Listed> {
    let page = await this.call("listing the folder", (dbx) =>
      dbx.filesListFolder({ path: this.absolute(start), recursive, include_deleted: false, limit: PAGE_LIMIT }),
    );
    for (;;) {
      yield* page.entries;
      if (!page.has_more) return;
      const cursor = page.cursor;
      page = await this.call("listing the folder", (dbx) => dbx.filesListFolderContinue({ cursor }));
    }
  }

  /**
   * Files with their content from zips (files/download_zip) instead of one download each (see
   * planZips for which folders). The files come from `options.wanted` or, without it, from one
   * listing of the source (which the next whole listFiles() then answers); every entry is
   * checked against the size and content_hash listed for it. Without `wanted` every accepted
   * file comes through: what a zip does not serve (a bad entry, a lone file) is downloaded
   * alone, and when a zip fails (refused, cut short) or too many files would be downloaded
   * alone, the stream fails before it gives any file, for the caller to read the listing one
   * by one. With `wanted`, what the zips do not serve is left out, for the caller to read.
   */
  async *streamFiles(options: StreamFilesOptions = {}): AsyncIterable<RemoteFileWithContent> {
    const accept = (f: RemoteFile) => options.accept?.(f.path, f.size ?? 0) ?? true;
    const complete = !options.wanted;
    let files: RemoteFile[];
    if (options.wanted) {
      files = options.wanted.filter(accept);
    } else {
      const listed: RemoteFile[] = [];
      for await (const file of this.listFiles()) listed.push(file);
      this.listedForStream = listed;
      files = listed.filter(accept);
    }
    const plan = planZips(files, this.root === "", this.rootStats);
    const left: RemoteFile[] = [...plan.single];
    const usable: PlannedZip[] = [];
    for (const zip of plan.zips) {
      const folder = zip.folder.toLowerCase();
      // A folder whose zip failed, or one above it, is no smaller this time.
      const failedBefore = [...this.failedZips].some(
        (f) => f === folder || folder === "" || f.startsWith(`${folder}/`),
      );
      if (failedBefore) left.push(...zip.files);
      else usable.push(zip);
    }
    // Many files to read one by one are the caller's to read, in parallel and across workers.
    if (complete && (usable.length < plan.zips.length || left.length > MAX_LONE_DOWNLOADS))
      throw new ZipUnavailableError(
        this.root || "/",
        `${left.length} files would be downloaded one by one, more than ${MAX_LONE_DOWNLOADS}`,
      );
    const dir = await mkdtemp(join(tmpdir(), "dropbox-zip-"));
    try {
      const token = await resolveAccessToken(this.context);
      const downloaded: { zip: PlannedZip; file: string }[] = [];
      for (const [i, zip] of usable.entries()) {
        const file = join(dir, `${i}.zip`);
        try {
          await waitOutRateLimits(
            () => downloadZip(token, this.absolute(zip.folder), file, zip.maxBytes),
            this.context.onWait,
          );
        } catch (err) {
          if (!(err instanceof ZipUnavailableError)) throw err;
          this.zipFailed(zip.folder, err.reason);
          // A complete stream gives nothing rather than a part: the caller reads every file.
          if (complete) throw err;
          left.push(...zip.files);
          continue;
        }
        // Without `wanted`, every zip is on disk before the first file is given.
        if (complete) downloaded.push({ zip, file });
        else yield* this.readZip(zip, file, left);
      }
      for (const { zip, file } of downloaded) yield* this.readZip(zip, file, left);
      if (!complete) return;
      const unread: ConnectorFileError[] = [];
      for (let i = 0; i < left.length; i += LONE_DOWNLOADS_AT_ONCE) {
        const read = await Promise.all(
          left.slice(i, i + LONE_DOWNLOADS_AT_ONCE).map(async (file) => {
            try {
              const content = await this.getFileContent(file.path);
              return { ...file, size: content.length, version: dropboxContentHash(content), content };
            } catch (err) {
              if (!(err instanceof ConnectorFileError)) throw err;
              unread.push(err);
              return null;
            }
          }),
        );
        for (const file of read) if (file) yield file;
      }
      // A complete stream gives every file or says which it could not: the caller reads those
      // again and records each that still fails.
      if (unread.length > 0) throw new FilesUnreadError(unread);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private zipFailed(folder: string, reason: string): void {
    this.failedZips.add(folder.toLowerCase());
    logger.warn(
      { provider: "dropbox", folder: this.absolute(folder), reason },
      "zip not used: reading its files one by one",
    );
  }

  /**
   * The files of one downloaded zip that match what was listed for them (size and
   * content_hash); the others are added to `left`. Entries carry the zipped folder's name first.
   */
  private async *readZip(zip: PlannedZip, file: string, left: RemoteFile[]): AsyncIterable<RemoteFileWithContent> {
    const key = (path: string) => path.normalize("NFC").toLowerCase();
    const remaining = new Map(zip.files.map((f) => [key(f.path), f]));
    for await (const entry of readZipEntries(file, this.absolute(zip.folder))) {
      const name = entry.name.replace(/^\/+/, "");
      const inside = name.slice(name.indexOf("/") + 1);
      if (!name.includes("/") || !inside) continue;
      const wanted = remaining.get(key(zip.folder ? `${zip.folder}/${inside}` : inside));
      if (!wanted) continue;
      remaining.delete(key(wanted.path));
      let content: Buffer | null = null;
      if (wanted.version !== null && entry.size === wanted.size) content = await entry.read().catch(() => null);
      if (content && dropboxContentHash(content) === wanted.version) yield { ...wanted, content };
      else left.push(wanted);
    }
    left.push(...remaining.values());
  }

  async getFileMetadata(relative: string): Promise<RemoteFile | null> {
    try {
      const meta = await this.call(relative, (dbx) => dbx.filesGetMetadata({ path: this.absolute(relative) }));
      return meta[".tag"] === "file" ? this.toRemote(meta) : null;
    } catch (err) {
      if (err instanceof DropboxResponseError && err.status === 409) return null;
      throw err;
    }
  }

  async getFileContent(relative: string): Promise<Buffer> {
    let result: files.FileMetadata & { fileBinary?: unknown };
    try {
      result = await this.call(relative, (dbx) => dbx.filesDownload({ path: this.absolute(relative) }));
    } catch (err) {
      if (err instanceof DropboxResponseError && err.status === 409)
        throw new ConnectorFileError(relative, `cannot download: ${errorSummary(err)}`);
      throw err;
    }
    const content = Buffer.isBuffer(result.fileBinary) ? result.fileBinary : Buffer.alloc(0);
    // The download must be the content the metadata announced, else the index would hold
    // bytes under a version they do not have.
    if (result.content_hash && dropboxContentHash(content) !== result.content_hash) {
      throw new ConnectorSyncError(`The download of ${relative} does not match its content_hash; will retry.`);
    }
    return content;
  }

  async currentCursor(): Promise<string | null> {
    const latest = await this.call("reading the cursor", (dbx) =>
      dbx.filesListFolderGetLatestCursor({ path: this.root, recursive: true, include_deleted: true }),
    );
    return latest.cursor;
  }

  async hasChanges(cursor: string): Promise<boolean> {
    try {
      const page = await this.call("checking for changes", (dbx) => dbx.filesListFolderContinue({ cursor }));
      return page.entries.length > 0 || page.has_more;
    } catch (err) {
      if (err instanceof DropboxResponseError && err.status === 409) return true;
      throw err;
    }
  }

  async getChanges(cursor: string): Promise<Delta> {
    const changes: FileChange[] = [];
    let next = cursor;
    for (;;) {
      let page: files.ListFolderResult;
      try {
        page = await this.call("reading changes", (dbx) => dbx.filesListFolderContinue({ cursor: next }));
      } catch (err) {
        // The cursor is void (the folder was moved, or Dropbox reset it): list everything again.
        if (err instanceof DropboxResponseError && err.status === 409 && errorSummary(err).startsWith("reset"))
          return { reset: true };
        throw err;
      }
      for (const entry of page.entries) {
        const path = this.relative(entry);
        if (entry[".tag"] === "file") changes.push({ kind: "upsert", path, id: entry.id, file: this.toRemote(entry) });
        // A deleted entry does not say whether it was a file or a folder.
        else if (entry[".tag"] === "deleted" && path)
          changes.push({ kind: "delete", path, subtree: true, ignoreCase: true });
      }
      next = page.cursor;
      if (!page.has_more) return { reset: false, changes, cursor: next };
    }
  }
}

export const dropboxConnector: ConnectorDefinition = {
  type: "dropbox",
  configSchema: dropboxConfigSchema,
  create: (context) => new DropboxConnector(context),
};
