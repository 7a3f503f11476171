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
/** (folder, name) groups per query for same-named siblings: likewise well under the limit. */
const GROUPS_PER_QUERY = 15;
const FILE_FIELDS = "id,name,mimeType,parents,trashed,md5Checksum,version,size,modifiedTime";

/**
 * The cursor: the changes page token, the resolved scope, the folder tree at that point
 * (folder id → [name, parent id]) and the files that share their name with a sibling (file id →
 * [parent id, name]). The tree is what turns a folder rename, move or trash from the change feed
 * into the paths it affects, without listing everything again; `dupes` says whose path a file
 * leaving its name frees (see nameSiblings).
 */
const cursorSchema = z.object({
  v: z.literal(1),
  pageToken: z.string().min(1),
  rootId: z.string().min(1),
  driveId: z.string().nullable(),
  folders: z.record(z.string(), z.tuple([z.string(), z.string()])),
  dupes: z.record(z.string(), z.tuple([z.string(), z.string()])).default({}),
});
type DriveCursor = z.infer<typeof cursorSchema>;
type Folders = DriveCursor["folders"];
type Dupes = DriveCursor["dupes"];
type Scope = { rootId: string; driveId: string | null };
type Entry = { id: string; path: string; mimeType: string; remote: RemoteFile };

/** A Drive name as one path segment. */
const segment = (name: string) => name.replaceAll("/", "_") || "_";

/**
 * The name of a listed file in its folder, or null when the kind is not indexed (folders, and
 * Google-native kinds that cannot be exported: forms, maps, shortcuts...). Every other file is
 * judged like any other source's, by its name and content, never by Drive's MIME label (Drive
 * labels TypeScript `video/mp2t`).
 */
function fileName(file: drive_v3.Schema$File): string | null {
  const mime = file.mimeType ?? "";
  const exported = EXPORTS[mime];
  if (exported) {
    const name = segment(file.name ?? "");
    return name.toLowerCase().endsWith(exported.extension) ? name : name + exported.extension;
  }
  if (mime.startsWith("application/vnd.google-apps.")) return null;
  return segment(file.name ?? "");
}

/** The Drive names that can give the file name `name` (a Doc "a" is "a.md"). */
function namesFor(name: string): string[] {
  const names = [name];
  for (const { extension } of Object.values(EXPORTS))
    if (name.toLowerCase().endsWith(extension) && name.length > extension.length)
      names.push(name.slice(0, -extension.length));
  return names;
}

/**
 * The one path rule for siblings (files, or folders) of one folder whose names are equal, used
 * by full walks, the change feed and lookups by path alike: the smallest id keeps the plain
 * name, every other one is `name~id`. It depends on nothing but the ids present, so a file keeps
 * its path from sync to sync while its same-named siblings stay the same.
 */
function nameSiblings(ids: string[], name: string): Map<string, string> {
  const sorted = [...ids].sort();
  return new Map(sorted.map((id, i) => [id, i === 0 ? name : `${name}~${id}`]));
}

const quoted = (value: string) => `'${value.replace(/['\\]/g, "\\$&")}'`;

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
  const siblings = new Map<string, string[]>();
  for (const [id, [name, parent]] of Object.entries(folders)) {
    const key = `${parent}\0${segment(name)}`;
    siblings.set(key, [...(siblings.get(key) ?? []), id]);
  }
  const segments = new Map<string, string>();
  for (const [key, ids] of siblings)
    for (const [id, name] of nameSiblings(ids, key.slice(key.indexOf("\0") + 1))) segments.set(id, name);
  const resolve = (id: string, depth: number): string | null => {
    if (memo.has(id)) return memo.get(id)!;
    const folder = folders[id];
    if (!folder || depth > 200) return null;
    const parent = resolve(folder[1], depth + 1);
    const name = segments.get(id)!;
    const path = parent === null ? null : parent ? `${parent}/${name}` : name;
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
   * the tree (and the next level), files come back with their paths, and files sharing a name
   * with a sibling are added to `dupes`. Returns the files and every folder it listed.
   */
  private async walk(
    scope: Scope,
    startIds: string[],
    folders: Folders,
    dupes: Dupes,
  ): Promise<{ entries: Entry[]; listedFolders: Set<string> }> {
    const listed = new Map<string, { file: drive_v3.Schema$File; parent: string }>();
    const listedFolders = new Set<string>();
    let level = [...new Set(startIds)];
    while (level.length > 0) {
      for (const id of level) listedFolders.add(id);
      const next: string[] = [];
      for (let i = 0; i < level.length; i += PARENTS_PER_QUERY) {
        const batch = level.slice(i, i + PARENTS_PER_QUERY);
        const inBatch = new Set(batch);
        const q = `(${batch.map((id) => `${quoted(id)} in parents`).join(" or ")}) and trashed = false`;
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
              if (!listedFolders.has(file.id)) next.push(file.id);
            } else listed.set(file.id, { file, parent });
          }
          pageToken = page.nextPageToken ?? undefined;
        } while (pageToken);
      }
      level = next;
    }
    const paths = folderPaths(folders, scope.rootId);
    const groups = new Map<string, drive_v3.Schema$File[]>();
    for (const { file, parent } of listed.values()) {
      const name = fileName(file);
      if (name === null || paths(parent) === null) continue;
      const key = `${parent}\0${name}`;
      groups.set(key, [...(groups.get(key) ?? []), file]);
    }
    const entries: Entry[] = [];
    for (const [key, members] of groups) {
      const [parent, name] = [key.slice(0, key.indexOf("\0")), key.slice(key.indexOf("\0") + 1)];
      entries.push(...this.entriesOf(members, parent, name, paths(parent)!, dupes));
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : 1));
    return { entries, listedFolders };
  }

  /** The entries of same-named siblings (one or more) under the path rule; `dupes` keeps groups of two or more. */
  private entriesOf(
    members: drive_v3.Schema$File[],
    parent: string,
    name: string,
    parentPath: string,
    dupes: Dupes,
  ): Entry[] {
    const names = nameSiblings(
      members.map((m) => m.id!),
      name,
    );
    return members.map((file) => {
      if (members.length > 1) dupes[file.id!] = [parent, name];
      const path = parentPath ? `${parentPath}/${names.get(file.id!)}` : names.get(file.id!)!;
      this.byPath.set(path, { id: file.id!, mimeType: file.mimeType ?? "" });
      return { id: file.id!, path, mimeType: file.mimeType ?? "", remote: remoteOf(file, path) };
    });
  }

  /**
   * The current non-folder children of each (folder, file name) group, from as few queries as
   * the query length allows. `rawNames` adds Drive names the file names do not give (a "/").
   */
  private async siblingsOf(
    scope: Scope,
    groups: { parent: string; name: string; rawNames: Set<string> }[],
  ): Promise<Map<string, drive_v3.Schema$File[]>> {
    const found = new Map<string, drive_v3.Schema$File[]>();
    for (const group of groups) found.set(`${group.parent}\0${group.name}`, []);
    for (let i = 0; i < groups.length; i += GROUPS_PER_QUERY) {
      const batch = groups.slice(i, i + GROUPS_PER_QUERY);
      const terms = batch.map((g) => {
        const names = new Set([...namesFor(g.name), ...g.rawNames]);
        return `(${quoted(g.parent)} in parents and (${[...names].map((n) => `name = ${quoted(n)}`).join(" or ")}))`;
      });
      const q = `(${terms.join(" or ")}) and trashed = false and mimeType != ${quoted(FOLDER_MIME)}`;
      let pageToken: string | undefined;
      do {
        const page = await this.call("listing same-named files", (d) =>
          d.files.list({
            q,
            pageSize: PAGE_SIZE,
            pageToken,
            fields: `nextPageToken,files(${FILE_FIELDS})`,
            ...this.corpusParams(scope),
          }),
        );
        for (const file of page.files ?? []) {
          const name = fileName(file);
          if (!file.id || name === null) continue;
          for (const parent of file.parents ?? []) found.get(`${parent}\0${name}`)?.push(file);
        }
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
    }
    return found;
  }

  /** Pins the change feed first, then lists the whole tree: changes during the listing are replayed next time. */
  async currentCursor(): Promise<string> {
    const scope = await this.resolveScope();
    const { startPageToken } = await this.call("the start page token", (d) =>
      d.changes.getStartPageToken({ supportsAllDrives: true, ...(scope.driveId ? { driveId: scope.driveId } : {}) }),
    );
    const folders: Folders = {};
    const dupes: Dupes = {};
    const { entries: files } = await this.walk(scope, [scope.rootId], folders, dupes);
    this.walked = { folders, files };
    const cursor: DriveCursor = {
      v: 1,
      pageToken: startPageToken!,
      rootId: scope.rootId,
      driveId: scope.driveId,
      folders,
      dupes,
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

  /**
   * Resolves a path segment by segment under the path rule: a `name~id` segment by its id, a
   * plain one as the smallest id of that name in the folder. Null when nothing is there.
   */
  async getFileMetadata(path: string): Promise<RemoteFile | null> {
    const scope = await this.resolveScope();
    const segments = path.split("/").filter(Boolean);
    let parent = scope.rootId;
    for (const [i, seg] of segments.entries()) {
      const last = i === segments.length - 1;
      const match = await this.childAt(scope, parent, seg, last ? "file" : "folder");
      if (!match) return null;
      if (last) {
        this.byPath.set(path, { id: match.id!, mimeType: match.mimeType ?? "" });
        return remoteOf(match, path);
      }
      parent = match.id!;
    }
    return null;
  }

  /** The child of `parent` whose path segment is `seg`, or null. */
  private async childAt(
    scope: Scope,
    parent: string,
    seg: string,
    kind: "file" | "folder",
  ): Promise<drive_v3.Schema$File | null> {
    const nameOf = (f: drive_v3.Schema$File) =>
      (f.mimeType === FOLDER_MIME) !== (kind === "folder")
        ? null
        : kind === "file"
          ? fileName(f)
          : segment(f.name ?? "");
    const tagged = /^(.+)~([A-Za-z0-9_-]+)$/.exec(seg);
    if (tagged) {
      const byId = await this.call(seg, (d) =>
        d.files.get({ fileId: tagged[2]!, fields: FILE_FIELDS, supportsAllDrives: true }),
      ).catch((err) => {
        if (googleFailure(err).status === 404) return null;
        throw err;
      });
      if (byId && !byId.trashed && byId.parents?.includes(parent) && nameOf(byId) === tagged[1]) return byId;
    }
    // Names are searched as Drive stores them; a "/" in a name (a "_" in the path) needs the whole folder.
    const names = kind === "file" ? namesFor(seg) : [seg];
    const byName = `(${names.map((n) => `name = ${quoted(n)}`).join(" or ")}) and `;
    for (const q of [byName, ...(seg.includes("_") ? [""] : [])]) {
      const matches: drive_v3.Schema$File[] = [];
      let pageToken: string | undefined;
      do {
        const page = await this.call(seg, (d) =>
          d.files.list({
            q: `${q}${quoted(parent)} in parents and trashed = false`,
            pageSize: PAGE_SIZE,
            pageToken,
            fields: `nextPageToken,files(${FILE_FIELDS})`,
            ...this.corpusParams(scope),
          }),
        );
        matches.push(...(page.files ?? []).filter((f) => f.id && nameOf(f) === seg));
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      if (matches.length > 0) return matches.sort((a, b) => (a.id! < b.id! ? -1 : 1))[0]!;
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
    const isGone = (c: drive_v3.Schema$Change) => c.removed || !c.file || c.file.trashed;
    for (const [id, change] of latest) {
      const wasFolder = id in oldFolders;
      if (!wasFolder && change.file?.mimeType !== FOLDER_MIME) continue;
      if (isGone(change)) delete folders[id];
      else folders[id] = [change.file!.name ?? "", change.file!.parents?.[0] ?? ""];
    }
    // Folders whose chain no longer reaches the root (moved out, or under a trashed folder) leave the tree.
    const reach = folderPaths(folders, scope.rootId);
    for (const id of Object.keys(folders)) if (reach(id) === null) delete folders[id];
    const newPath = folderPaths(folders, scope.rootId);

    // Every folder whose path changed: its own rename or move, an ancestor's, or a same-named
    // sibling's arrival or departure (the path rule). One inside another that moved too is
    // covered by the outer one's delete and listing, so no file is listed twice.
    const moved = new Set<string>();
    for (const id of new Set([...Object.keys(oldFolders), ...Object.keys(folders)])) {
      const before = id in oldFolders ? oldPath(id) : null;
      const after = id in folders ? newPath(id) : null;
      if (before !== after) moved.add(id);
    }
    const changes: FileChange[] = [];
    const rewalk: string[] = [];
    for (const id of moved) {
      if (id in oldFolders && oldPath(id) !== null && !moved.has(oldFolders[id]![1]))
        changes.push({ kind: "delete", path: oldPath(id)!, subtree: true });
      if (id in folders && newPath(id) !== null && !moved.has(folders[id]![1])) rewalk.push(id);
    }
    const dupes: Dupes = { ...cursor.dupes };
    // A folder renamed, moved or restored: its contents are listed again under the new path.
    const { entries: rewalked, listedFolders } =
      rewalk.length > 0 ? await this.walk(scope, rewalk, folders, dupes) : { entries: [], listedFolders: new Set() };
    for (const entry of rewalked) changes.push({ kind: "upsert", path: entry.path, id: entry.id, file: entry.remote });

    // Changed files are named with their same-named siblings (the path rule), and a file that
    // leaves a name shared with others hands the plain name on: both groups are looked up again.
    const groups = new Map<string, { parent: string; name: string; rawNames: Set<string> }>();
    const regroup = (parent: string, name: string, rawName?: string) => {
      if (listedFolders.has(parent) || newPath(parent) === null) return;
      const key = `${parent}\0${name}`;
      const group = groups.get(key) ?? { parent, name, rawNames: new Set<string>() };
      if (rawName) group.rawNames.add(rawName);
      groups.set(key, group);
    };
    const pending = new Set<string>();
    for (const [id, change] of latest) {
      if (change.file?.mimeType === FOLDER_MIME || id in oldFolders) continue;
      const shared = cursor.dupes[id];
      delete dupes[id];
      if (shared) regroup(shared[0], shared[1]);
      const file = change.file;
      const parent = file && !isGone(change) ? (file.parents?.[0] ?? "") : null;
      const name = file ? fileName(file) : null;
      if (!file || parent === null || newPath(parent) === null || name === null) {
        changes.push({ kind: "delete-id", id });
        continue;
      }
      if (listedFolders.has(parent)) continue;
      regroup(parent, name, file.name ?? undefined);
      pending.add(id);
    }
    const siblings = groups.size > 0 ? await this.siblingsOf(scope, [...groups.values()]) : new Map();
    for (const [key, members] of siblings) {
      const { parent, name } = groups.get(key)!;
      for (const entry of this.entriesOf(members, parent, name, newPath(parent)!, dupes)) {
        pending.delete(entry.id);
        changes.push({ kind: "upsert", path: entry.path, id: entry.id, file: entry.remote });
      }
    }
    // Changed files no longer where the feed said (gone since): their rows go.
    for (const id of pending) changes.push({ kind: "delete-id", id });
    const next: DriveCursor = {
      v: 1,
      pageToken: newStart,
      rootId: scope.rootId,
      driveId: scope.driveId,
      folders,
      dupes,
    };
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
}

export const gdriveConnector: ConnectorDefinition = {
  type: "gdrive",
  configSchema: gdriveConfigSchema,
  create: (context) => new GdriveConnector(context),
};
