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
} from "../types";
import { waitOutRateLimits } from "../wait-out-rate-limits";
import { createDropboxClient, errorSummary, toConnectorError } from "./client";
import { dropboxContentHash } from "./content-hash";

export const dropboxConfigSchema = tokenConfigSchema.extend({
  path: z
    .string({ error: 'path is required: the Dropbox folder to index, "/" for the whole Dropbox' })
    .refine((p) => p === "" || p.startsWith("/"), 'path must start with "/" (for example "/Documents")'),
});

/** Entries per list_folder page (Dropbox's maximum is 2,000). */
const PAGE_LIMIT = 2000;

type Listed = files.FileMetadataReference | files.FolderMetadataReference | files.DeletedMetadataReference;

class DropboxConnector implements Connector {
  private client: Promise<Dropbox> | null = null;
  /** "" for the whole Dropbox, else "/Folder" without a trailing slash. */
  private readonly root: string;

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
    let page = await this.call("listing the folder", (dbx) =>
      dbx.filesListFolder({ path: this.absolute(start), recursive, include_deleted: false, limit: PAGE_LIMIT }),
    );
    for (;;) {
      for (const entry of page.entries) if (entry[".tag"] === "file") yield this.toRemote(entry);
      if (!page.has_more) return;
      const cursor = page.cursor;
      page = await this.call("listing the folder", (dbx) => dbx.filesListFolderContinue({ cursor }));
    }
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
