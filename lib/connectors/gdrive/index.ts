import type { drive_v3 } from "@googleapis/drive";
import { z } from "zod";
import { resolveAccessToken, tokenConfigSchema } from "../credentials";
import { ConnectorConfigError, ConnectorFileError, ConnectorRateLimitError } from "../errors";
import type {
  ConnectionInfo,
  Connector,
  ConnectorContext,
  ConnectorDefinition,
  Delta,
  FileChange,
  RemoteFile,
  WebhookRegistration,
} from "../types";
import { waitOutRateLimits } from "../wait-out-rate-limits";
import { createDriveClient, googleFailure, toConnectorError } from "./client";

export const gdriveConfigSchema = tokenConfigSchema.extend({
  folderId: z.string().min(1, "folderId must not be empty").optional(),
  driveId: z.string().min(1, "driveId must not be empty").optional(),
});

export const FOLDER_MIME = "application/vnd.google-apps.folder";

/** Google-native files and how they are read: exported, within Drive's 10 MB export limit. */
export const EXPORTS: Record<string, { mimeType: string; fallback?: string; extension: string }> = {
  "application/vnd.google-apps.document": { mimeType: "text/markdown", fallback: "text/plain", extension: ".md" },
  "application/vnd.google-apps.spreadsheet": { mimeType: "text/csv", extension: ".csv" },
  "application/vnd.google-apps.presentation": { mimeType: "text/plain", extension: ".txt" },
};

const PAGE_SIZE = 1000;
/** Folder ids per `'id' in parents or ...` query: keeps the query well under Drive's length limit. */
const PARENTS_PER_QUERY = 40;
const FILE_FIELDS = "id,name,mimeType,parents,trashed,md5Checksum,version,size,modifiedTime";

/**
 * The cursor: the changes page token, the resolved scope, and the folder tree at that point
 * (folder id → [name, parent id]). The tree is what turns a folder rename, move or trash from
 * the change feed into the paths it affects, without listing everything again.
 */
const cursorSchema = z.object({
  v: z.literal(1),
  pageToken: z.string().min(1),
  rootId: z.string().min(1),
  driveId: z.string().nullable(),
  folders: z.record(z.string(), z.tuple([z.string(), z.string()])),
});
type DriveCursor = z.infer<typeof cursorSchema>;
type Folders = DriveCursor["folders"];
type Scope = { rootId: string; driveId: string | null };
type Entry = { id: string; path: string; mimeType: string; remote: RemoteFile };

/** A Drive name as one path segment. */
const segment = (name: string) => name.replaceAll("/", "_") || "_";

/** The path of a listed file, or null when the kind is not indexed (folders, forms, shortcuts, media). */
function fileName(file: drive_v3.Schema$File): string | null {
  const mime = file.mimeType ?? "";
  const exported = EXPORTS[mime];
  if (exported) {
    const name = segment(file.name ?? "");
    return name.toLowerCase().endsWith(exported.extension) ? name : name + exported.extension;
  }
  if (mime.startsWith("application/vnd.google-apps.")) return null;
  if (/^(image|video|audio)\//.test(mime)) return null;
  return segment(file.name ?? "");
}

function remoteOf(file: drive_v3.Schema$File, path: string): RemoteFile {
  const exported = EXPORTS[file.mimeType ?? ""];
  return {
    path,
    id: file.id!,
    contentType: file.mimeType ?? null,
    size: exported || file.size == null ? null : Number(file.size),
    // Binary files carry md5Checksum; native ones only their version (bumped by any edit).
    version: file.md5Checksum ?? (file.version ? `v${file.version}` : null),
    lastModified: file.modifiedTime ? new Date(file.modifiedTime) : null,
  };
}

/** Folder id → its path below the root (""), or null when it is outside the root. */
function folderPaths(folders: Folders, rootId: string): (id: string) => string | null {
  const memo = new Map<string, string | null>([[rootId, ""]]);
  const resolve = (id: string, depth: number): string | null => {
    if (memo.has(id)) return memo.get(id)!;
    const folder = folders[id];
    if (!folder || depth > 200) return null;
    const parent = resolve(folder[1], depth + 1);
    const path = parent === null ? null : parent ? `${parent}/${segment(folder[0])}` : segment(folder[0]);
    memo.set(id, path);
    return path;
  };
  return (id) => resolve(id, 0);
}

export class GdriveConnector implements Connector {
  private client: Promise<drive_v3.Drive> | null = null;
  private scope: Promise<Scope> | null = null;
  /** The tree and files of the last walk (a full sync lists once, in currentCursor). */
  private walked: { folders: Folders; files: Entry[] } | null = null;
  /** Where each path's file lives and what it is: filled by walks and change feeds. */
  private readonly byPath = new Map<string, { id: string; mimeType: string }>();
  private rateLimited = 0;

  constructor(readonly context: ConnectorContext) {}

  private drive(): Promise<drive_v3.Drive> {
    this.client ??= resolveAccessToken(this.context).then(createDriveClient);
    return this.client;
  }

  /** One API call: errors as connector errors, rate limits waited out (with backoff) and shown on the job. */
  call<T>(what: string, fn: (drive: drive_v3.Drive) => Promise<{ data: T }>): Promise<T> {
    return waitOutRateLimits(async () => {
      const drive = await this.drive();
      try {
        const { data } = await fn(drive);
        this.rateLimited = 0;
        return data;
      } catch (err) {
        const mapped = toConnectorError(err, what, Math.min(64, 2 ** this.rateLimited));
        if (mapped instanceof ConnectorRateLimitError) this.rateLimited++;
        throw mapped;
      }
    }, this.context.onWait);
  }

  /** Parameters every listing needs to see shared drives. */
  private corpusParams(scope: Scope) {
    return scope.driveId
      ? { supportsAllDrives: true, includeItemsFromAllDrives: true, corpora: "drive", driveId: scope.driveId }
      : { supportsAllDrives: true, includeItemsFromAllDrives: true };
  }

  private resolveScope(): Promise<Scope> {
    this.scope ??= (async () => {
      const { folderId, driveId } = this.context.config as { folderId?: string; driveId?: string };
      const notFound = (what: string, field: string) => (err: unknown) => {
        const f = googleFailure(err);
        if (f.status === 404 || f.status === 403)
          throw new ConnectorConfigError(`${what} was not found or is not shared with this account.`, field);
        throw err;
      };
      if (folderId) {
        const folder = await this.call("the folder", (d) =>
          d.files.get({ fileId: folderId, fields: "id,name,mimeType,driveId,trashed", supportsAllDrives: true }),
        ).catch(notFound(`The Drive folder ${folderId}`, "folderId"));
        if (folder.mimeType !== FOLDER_MIME)
          throw new ConnectorConfigError(`${folderId} is a file, not a folder.`, "folderId");
        if (folder.trashed) throw new ConnectorConfigError(`The folder ${folderId} is in the trash.`, "folderId");
        return { rootId: folder.id!, driveId: folder.driveId ?? driveId ?? null };
      }
      if (driveId) {
        const shared = await this.call("the shared drive", (d) => d.drives.get({ driveId, fields: "id,name" })).catch(
          notFound(`The shared drive ${driveId}`, "driveId"),
        );
        return { rootId: shared.id!, driveId: shared.id! };
      }
      const root = await this.call("My Drive", (d) => d.files.get({ fileId: "root", fields: "id" }));
      return { rootId: root.id!, driveId: null };
    })();
    return this.scope;
  }

  async validateConnection(): Promise<ConnectionInfo> {
    await this.resolveScope();
    return {};
  }

  /**
   * Lists everything under `startIds` level by level, many folders per query: folders extend
   * the tree (and the next level), files come back with their paths.
   */
  private async walk(scope: Scope, startIds: string[], folders: Folders): Promise<Entry[]> {
    const listed: { file: drive_v3.Schema$File; parent: string }[] = [];
    let level = startIds;
    while (level.length > 0) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += PARENTS_PER_QUERY) {
        const batch = level.slice(i, i + PARENTS_PER_QUERY);
        const inBatch = new Set(batch);
        const q = `(${batch.map((id) => `'${id.replace(/['\\]/g, "\\$&")}' in parents`).join(" or ")}) and trashed = false`;
        let pageToken: string | undefined;
        do {
          const page = await this.call("listing folders", (d) =>
            d.files.list({
              q,
              pageSize: PAGE_SIZE,
              pageToken,
              fields: `nextPageToken,files(${FILE_FIELDS})`,
              ...this.corpusParams(scope),
            }),
          );
          for (const file of page.files ?? []) {
            const parent = file.parents?.find((p) => inBatch.has(p));
            if (!parent || !file.id) continue;
            if (file.mimeType === FOLDER_MIME) {
              folders[file.id] = [file.name ?? "", parent];
              next.push(file.id);
            } else listed.push({ file, parent });
          }
          pageToken = page.nextPageToken ?? undefined;
        } while (pageToken);
      }
      level = next;
    }
    const paths = folderPaths(folders, scope.rootId);
    const seen = new Set<string>();
    const entries: Entry[] = [];
    // Two files of one name in one folder get distinct paths; identity stays the file id.
    listed.sort((a, b) => (a.file.id! < b.file.id! ? -1 : 1));
    for (const { file, parent } of listed) {
      const parentPath = paths(parent);
      const name = fileName(file);
      if (parentPath === null || name === null) continue;
      let path = parentPath ? `${parentPath}/${name}` : name;
      if (seen.has(path)) path = `${path}~${file.id}`;
      seen.add(path);
      this.byPath.set(path, { id: file.id!, mimeType: file.mimeType ?? "" });
      entries.push({ id: file.id!, path, mimeType: file.mimeType ?? "", remote: remoteOf(file, path) });
    }
    return entries;
  }

  /** Pins the change feed first, then lists the whole tree: changes during the listing are replayed next time. */
  async currentCursor(): Promise<string> {
    const scope = await this.resolveScope();
    const { startPageToken } = await this.call("the start page token", (d) =>
      d.changes.getStartPageToken({ supportsAllDrives: true, ...(scope.driveId ? { driveId: scope.driveId } : {}) }),
    );
    const folders: Folders = {};
    const files = await this.walk(scope, [scope.rootId], folders);
    this.walked = { folders, files };
    const cursor: DriveCursor = {
      v: 1,
      pageToken: startPageToken!,
      rootId: scope.rootId,
      driveId: scope.driveId,
      folders,
    };
    return JSON.stringify(cursor);
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    if (!this.walked) await this.currentCursor();
    const prefix = start.replace(/^\/+|\/+$/g, "");
    for (const entry of this.walked!.files) {
      const rest = prefix
        ? entry.path.startsWith(`${prefix}/`)
          ? entry.path.slice(prefix.length + 1)
          : null
        : entry.path;
      if (rest === null || (!recursive && rest.includes("/"))) continue;
      yield entry.remote;
    }
  }

  /** Resolves a path segment by segment (one query per segment); null when nothing is there. */
  async getFileMetadata(path: string): Promise<RemoteFile | null> {
    const scope = await this.resolveScope();
    const segments = path.split("/").filter(Boolean);
    let parent = scope.rootId;
    for (const [i, seg] of segments.entries()) {
      const last = i === segments.length - 1;
      const q = `'${parent.replace(/['\\]/g, "\\$&")}' in parents and trashed = false`;
      const page = await this.call(path, (d) =>
        d.files.list({ q, pageSize: PAGE_SIZE, fields: `files(${FILE_FIELDS})`, ...this.corpusParams(scope) }),
      );
      const match = (page.files ?? []).find((f) =>
        last
          ? f.mimeType !== FOLDER_MIME && fileName(f) === seg
          : f.mimeType === FOLDER_MIME && segment(f.name ?? "") === seg,
      );
      if (!match) return null;
      if (last) {
        this.byPath.set(path, { id: match.id!, mimeType: match.mimeType ?? "" });
        return remoteOf(match, path);
      }
      parent = match.id!;
    }
    return null;
  }

  async getFileContent(path: string, listed?: RemoteFile): Promise<Buffer> {
    const fromListing = listed?.id && listed.contentType ? { id: listed.id, mimeType: listed.contentType } : undefined;
    const known =
      this.byPath.get(path) ?? fromListing ?? (await this.getFileMetadata(path).then(() => this.byPath.get(path)));
    if (!known) throw new ConnectorFileError(path, "the file is no longer in Drive");
    const exported = EXPORTS[known.mimeType];
    const fileError = (err: unknown): never => {
      const f = googleFailure(err);
      if (f.status === 404) throw new ConnectorFileError(path, "the file is no longer in Drive");
      if (f.status === 403 && f.reason === "exportSizeLimitExceeded")
        throw new ConnectorFileError(path, "too large to export (Drive exports at most 10 MB)");
      if (f.status === 403) throw new ConnectorFileError(path, `Drive refused to read it (${f.reason ?? f.message})`);
      throw err;
    };
    const read = (fn: (d: drive_v3.Drive) => Promise<{ data: unknown }>) =>
      this.call(path, fn).then((data) => Buffer.from(data as ArrayBuffer), fileError);
    if (!exported) {
      return read((d) =>
        d.files.get({ fileId: known.id, alt: "media", supportsAllDrives: true }, { responseType: "arraybuffer" }),
      );
    }
    try {
      return await read((d) =>
        d.files.export({ fileId: known.id, mimeType: exported.mimeType }, { responseType: "arraybuffer" }),
      );
    } catch (err) {
      // Older Drive deployments cannot export Markdown: plain text says the same.
      if (exported.fallback && err instanceof ConnectorConfigError) {
        return read((d) =>
          d.files.export({ fileId: known.id, mimeType: exported.fallback! }, { responseType: "arraybuffer" }),
        );
      }
      throw err;
    }
  }

  async hasChanges(raw: string): Promise<boolean> {
    let cursor: DriveCursor;
    try {
      cursor = cursorSchema.parse(JSON.parse(raw));
    } catch {
      return true;
    }
    try {
      const page = await this.call("checking for changes", (d) =>
        d.changes.list({
          pageToken: cursor.pageToken,
          pageSize: 1,
          includeRemoved: true,
          spaces: "drive",
          supportsAllDrives: true,
          includeItemsFromAllDrives: true,
          ...(cursor.driveId ? { driveId: cursor.driveId } : {}),
          fields: "nextPageToken,newStartPageToken,changes(fileId)",
        }),
      );
      return (page.changes?.length ?? 0) > 0 || Boolean(page.nextPageToken);
    } catch (err) {
      // A void page token: the sync will find out and resync.
      if (err instanceof ConnectorConfigError || [404, 410].includes(googleFailure(err).status ?? 0)) return true;
      throw err;
    }
  }

  async getChanges(raw: string): Promise<Delta> {
    let cursor: DriveCursor;
    try {
      cursor = cursorSchema.parse(JSON.parse(raw));
    } catch {
      return { reset: true };
    }
    const scope: Scope = { rootId: cursor.rootId, driveId: cursor.driveId };
    this.scope = Promise.resolve(scope);
    // The last state of each changed file, in the order the feed named them.
    const latest = new Map<string, drive_v3.Schema$Change>();
    let pageToken = cursor.pageToken;
    let newStart: string | null = null;
    while (!newStart) {
      let page: drive_v3.Schema$ChangeList;
      try {
        page = await this.call("reading changes", (d) =>
          d.changes.list({
            pageToken,
            pageSize: PAGE_SIZE,
            includeRemoved: true,
            spaces: "drive",
            supportsAllDrives: true,
            includeItemsFromAllDrives: true,
            ...(scope.driveId ? { driveId: scope.driveId } : {}),
            fields: `nextPageToken,newStartPageToken,changes(changeType,removed,fileId,file(${FILE_FIELDS}))`,
          }),
        );
      } catch (err) {
        // A page token Drive no longer knows: compare everything.
        if (err instanceof ConnectorConfigError || [404, 410].includes(googleFailure(err).status ?? 0))
          return { reset: true };
        throw err;
      }
      for (const change of page.changes ?? []) {
        if (change.changeType === "drive" || !change.fileId) continue;
        latest.delete(change.fileId);
        latest.set(change.fileId, change);
      }
      if (page.newStartPageToken) newStart = page.newStartPageToken;
      else if (page.nextPageToken) pageToken = page.nextPageToken;
      else return { reset: true };
    }

    const oldFolders = cursor.folders;
    const oldPath = folderPaths(oldFolders, scope.rootId);
    const folders: Folders = { ...oldFolders };
    const changedFolders: string[] = [];
    const isGone = (c: drive_v3.Schema$Change) => c.removed || !c.file || c.file.trashed;
    for (const [id, change] of latest) {
      const wasFolder = id in oldFolders;
      if (!wasFolder && change.file?.mimeType !== FOLDER_MIME) continue;
      changedFolders.push(id);
      if (isGone(change)) delete folders[id];
      else folders[id] = [change.file!.name ?? "", change.file!.parents?.[0] ?? ""];
    }
    // Folders whose chain no longer reaches the root (moved out, or under a trashed folder) leave the tree.
    const reach = folderPaths(folders, scope.rootId);
    for (const id of Object.keys(folders)) if (reach(id) === null) delete folders[id];
    const newPath = folderPaths(folders, scope.rootId);

    const changes: FileChange[] = [];
    const rewalk: string[] = [];
    for (const id of changedFolders) {
      const before = id in oldFolders ? oldPath(id) : null;
      const after = id in folders ? newPath(id) : null;
      if (before === after) continue;
      if (before !== null) changes.push({ kind: "delete", path: before, subtree: true });
      if (after !== null) rewalk.push(id);
    }
    // A folder renamed, moved or restored: its contents are listed again under the new path.
    const rewalked = rewalk.length > 0 ? await this.walk(scope, rewalk, folders) : [];
    for (const entry of rewalked) changes.push({ kind: "upsert", path: entry.path, id: entry.id, file: entry.remote });

    for (const [id, change] of latest) {
      if (change.file?.mimeType === FOLDER_MIME || id in oldFolders) continue;
      const file = change.file;
      const parentPath = file && !isGone(change) ? newPath(file.parents?.[0] ?? "") : null;
      const name = file ? fileName(file) : null;
      if (!file || parentPath === null || name === null) {
        changes.push({ kind: "delete-id", id });
        continue;
      }
      const path = parentPath ? `${parentPath}/${name}` : name;
      this.byPath.set(path, { id, mimeType: file.mimeType ?? "" });
      changes.push({ kind: "upsert", path, id, file: remoteOf(file, path) });
    }
    const next: DriveCursor = { v: 1, pageToken: newStart, rootId: scope.rootId, driveId: scope.driveId, folders };
    return { reset: false, changes, cursor: JSON.stringify(next) };
  }

  /** Starts a changes.watch channel; notifications carry `token`, checked by the webhook route. */
  async watch(channel: {
    id: string;
    token: string;
    address: string;
    ttlSeconds: number;
  }): Promise<{ resourceId: string; expiresAt: Date }> {
    const scope = await this.resolveScope();
    const driveParams = scope.driveId ? { driveId: scope.driveId } : {};
    const { startPageToken } = await this.call("the start page token", (d) =>
      d.changes.getStartPageToken({ supportsAllDrives: true, ...driveParams }),
    );
    const result = await this.call("watching changes", (d) =>
      d.changes.watch({
        pageToken: startPageToken!,
        supportsAllDrives: true,
        includeItemsFromAllDrives: true,
        ...driveParams,
        requestBody: {
          id: channel.id,
          type: "web_hook",
          address: channel.address,
          token: channel.token,
          expiration: String(Date.now() + channel.ttlSeconds * 1000),
        },
      }),
    );
    return {
      resourceId: result.resourceId!,
      expiresAt: new Date(Number(result.expiration ?? Date.now() + channel.ttlSeconds * 1000)),
    };
  }

  /** Stops a channel; one Drive no longer knows is as good as stopped. */
  async stopChannel(channelId: string, resourceId: string): Promise<void> {
    try {
      await this.call("stopping the channel", (d) => d.channels.stop({ requestBody: { id: channelId, resourceId } }));
    } catch (err) {
      if (googleFailure(err).status === 404) return;
      throw err;
    }
  }

  async setupWebhook(callbackUrl: string): Promise<WebhookRegistration> {
    const { openDriveChannel } = await import("./channels");
    const channel = await openDriveChannel(this, callbackUrl);
    return { webhookId: channel.channelId };
  }

  async removeWebhook(): Promise<void> {
    const { stopDriveChannels } = await import("./channels");
    await stopDriveChannels(this);
  }
}

export const gdriveConnector: ConnectorDefinition = {
  type: "gdrive",
  configSchema: gdriveConfigSchema,
  create: (context) => new GdriveConnector(context),
};
