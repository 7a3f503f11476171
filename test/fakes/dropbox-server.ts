import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32, deflateRawSync } from "node:zlib";

// A loopback Dropbox API v2 that speaks the wire format the SDK expects: RPC routes take JSON
// bodies, content routes a `Dropbox-API-Arg` header and answer with `Dropbox-API-Result`;
// errors are `{error_summary, error}` with 409 for route errors, 401 for tokens, 429 with
// Retry-After; cursors page and replay a change log, and void cursors answer `reset`.
// files/download_zip answers a folder as a zip whose entries start with the folder's name,
// refuses (409 too_many_files / too_large) past its limits, and can be told to cut its answer
// short or to carry a wrong entry. Test-only: production code never imports it.

type Node = { kind: "file" | "folder"; display: string; id: string; content?: Buffer; rev: number; modified: string };
type LogEntry = { seq: number; lower: string; display: string; node: Node | null };
type Cursor = { root: string; seq: number; epoch: number; offset?: number; snapshot?: boolean };

const BLOCK = 4 * 1024 * 1024;

/** Dropbox's content_hash, written independently of lib/ (streamed block by block). */
export function fakeContentHash(content: Buffer): string {
  const blocks: Buffer[] = [];
  for (let i = 0; i < content.length; i += BLOCK)
    blocks.push(
      createHash("sha256")
        .update(content.subarray(i, i + BLOCK))
        .digest(),
    );
  return createHash("sha256").update(Buffer.concat(blocks)).digest("hex");
}

const lowerOf = (p: string) => p.toLowerCase();

/**
 * A zip as streaming writers produce it: deflated entries with sizes in a data descriptor after
 * the data (general purpose bit 3), UTF-8 names (bit 11), folders as `name/` entries.
 */
export function writeZip(entries: { name: string; content: Buffer | null }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const dosTime = 0x6000; // 12:00:00
  const dosDate = ((2026 - 1980) << 9) | (1 << 5) | 1;
  for (const { name, content } of entries) {
    const nameBytes = Buffer.from(name);
    const data = content ? deflateRawSync(content) : Buffer.alloc(0);
    const crc = content ? crc32(content) : 0;
    const size = content?.length ?? 0;
    const method = content ? 8 : 0;
    const flags = 0x0808;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt16LE(nameBytes.length, 26);
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(data.length, 8);
    descriptor.writeUInt32LE(size, 12);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(0x0314, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(flags, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(dosTime, 12);
    header.writeUInt16LE(dosDate, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt32LE(content ? 0 : 0x10, 38);
    header.writeUInt32LE(offset, 42);
    central.push(header, nameBytes);
    parts.push(local, nameBytes, data, descriptor);
    offset += local.length + nameBytes.length + data.length + descriptor.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

export async function startDropboxFake(
  options: {
    pageLimit?: number;
    /** files/download_zip's limits: entries (files and folders, the top one included) and bytes. */
    zipMaxEntries?: number;
    zipMaxBytes?: number;
  } = {},
) {
  const nodes = new Map<string, Node>();
  const log: LogEntry[] = [];
  const requests: { route: string; at: number }[] = [];
  let seq = 0;
  let epoch = 1;
  let nextId = 1;
  let validTokens = new Set(["dbx-token"]);
  let throttle: { count: number; retryAfter: number; route?: string } | null = null;
  let zipCut: { after: number; cleanEnd: boolean } | null = null;
  const zipCorrupt = new Set<string>();
  const restricted = new Set<string>();
  /** The `path` of every files/download_zip request, as sent. */
  const zipPaths: string[] = [];
  const accountId = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc";

  function record(lower: string, display: string, node: Node | null) {
    log.push({ seq: ++seq, lower, display, node: node ? { ...node } : null });
  }
  function ensureFolders(display: string) {
    const parts = display.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = `/${parts.slice(0, i).join("/")}`;
      if (!nodes.has(lowerOf(d))) {
        const node: Node = {
          kind: "folder",
          display: d,
          id: `id:f${nextId++}`,
          rev: 0,
          modified: new Date().toISOString(),
        };
        nodes.set(lowerOf(d), node);
        record(lowerOf(d), d, node);
      }
    }
  }

  function metadata(node: Node) {
    const name = node.display.slice(node.display.lastIndexOf("/") + 1);
    if (node.kind === "folder")
      return { ".tag": "folder", name, id: node.id, path_lower: lowerOf(node.display), path_display: node.display };
    return {
      ".tag": "file",
      name,
      id: node.id,
      client_modified: node.modified.replace(/\.\d+Z$/, "Z"),
      server_modified: node.modified.replace(/\.\d+Z$/, "Z"),
      rev: `0${node.rev.toString(16).padStart(8, "0")}`,
      size: node.content!.length,
      path_lower: lowerOf(node.display),
      path_display: node.display,
      is_downloadable: true,
      content_hash: fakeContentHash(node.content!),
    };
  }
  const under = (lower: string, root: string) => root === "" || lower === root || lower.startsWith(`${root}/`);
  const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString("base64url");
  const decode = (s: string): Cursor | null => {
    try {
      return JSON.parse(Buffer.from(s, "base64url").toString()) as Cursor;
    } catch {
      return null;
    }
  };

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  }
  const routeError = (res: ServerResponse, summary: string, error: unknown) =>
    send(res, 409, { error_summary: `${summary}/..`, error });
  const notFound = (res: ServerResponse) =>
    routeError(res, "path/not_found", { ".tag": "path", path: { ".tag": "not_found" } });

  /** One page of entries after `cursor`: the live tree for a fresh listing, the change log after. */
  function page(cursor: Cursor, limit: number) {
    if (cursor.snapshot) {
      const all = [...nodes.entries()]
        .filter(([l]) => under(l, cursor.root) && l !== cursor.root)
        .sort(([a], [b]) => (a < b ? -1 : 1));
      const offset = cursor.offset ?? 0;
      const slice = all.slice(offset, offset + limit).map(([, n]) => metadata(n));
      const done = offset + limit >= all.length;
      const next: Cursor = done ? { root: cursor.root, seq: cursor.seq, epoch } : { ...cursor, offset: offset + limit };
      return { entries: slice, cursor: encode(next), has_more: !done };
    }
    const pending = log.filter((e) => e.seq > cursor.seq && under(e.lower, cursor.root) && e.lower !== cursor.root);
    const slice = pending.slice(0, limit);
    const last = slice.at(-1)?.seq ?? cursor.seq;
    const entries = slice.map((e) =>
      e.node
        ? metadata(e.node)
        : {
            ".tag": "deleted",
            name: e.display.slice(e.display.lastIndexOf("/") + 1),
            path_lower: e.lower,
            path_display: e.display,
          },
    );
    return {
      entries,
      cursor: encode({ root: cursor.root, seq: last, epoch }),
      has_more: pending.length > slice.length,
    };
  }

  function handle(route: string, req: IncomingMessage, raw: string, res: ServerResponse) {
    requests.push({ route, at: Date.now() });
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!auth || !validTokens.has(auth)) {
      return send(res, 401, { error_summary: "expired_access_token/..", error: { ".tag": "expired_access_token" } });
    }
    if (throttle && throttle.count > 0 && (!throttle.route || throttle.route === route)) {
      throttle.count--;
      return send(
        res,
        429,
        {
          error_summary: "too_many_requests/..",
          error: { reason: { ".tag": "too_many_requests" }, retry_after: throttle.retryAfter },
        },
        { "retry-after": String(throttle.retryAfter) },
      );
    }
    const arg =
      route === "files/download" || route === "files/download_zip"
        ? JSON.parse(String(req.headers["dropbox-api-arg"] ?? "{}"))
        : raw
          ? JSON.parse(raw)
          : {};
    switch (route) {
      case "users/get_current_account":
        return send(res, 200, {
          account_id: accountId,
          name: { display_name: "Fake User" },
          email: "fake@example.com",
          email_verified: true,
          disabled: false,
        });
      case "files/get_metadata": {
        const node = nodes.get(lowerOf(arg.path));
        return node ? send(res, 200, metadata(node)) : notFound(res);
      }
      case "files/list_folder": {
        const root = lowerOf(arg.path ?? "");
        if (root && nodes.get(root)?.kind !== "folder") return notFound(res);
        return send(
          res,
          200,
          page({ root, seq, epoch, snapshot: true, offset: 0 }, Math.min(arg.limit ?? 2000, options.pageLimit ?? 2000)),
        );
      }
      case "files/list_folder/continue": {
        const cursor = decode(arg.cursor ?? "");
        if (!cursor) return send(res, 400, 'Error in call to API function "files/list_folder/continue": bad cursor');
        if (cursor.epoch !== epoch) return routeError(res, "reset", { ".tag": "reset" });
        return send(res, 200, page(cursor, options.pageLimit ?? 2000));
      }
      case "files/list_folder/get_latest_cursor":
        return send(res, 200, { cursor: encode({ root: lowerOf(arg.path ?? ""), seq, epoch }) });
      case "files/download": {
        const node = nodes.get(lowerOf(arg.path));
        if (!node || node.kind !== "file") return notFound(res);
        if (restricted.has(lowerOf(arg.path)))
          return routeError(res, "path/restricted_content", {
            ".tag": "path",
            path: { ".tag": "restricted_content" },
          });
        const result = JSON.stringify(metadata(node)).replace(
          /[\u007f-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        );
        res
          .writeHead(200, { "content-type": "application/octet-stream", "dropbox-api-result": result })
          .end(node.content);
        return;
      }
      case "files/download_zip": {
        zipPaths.push(arg.path);
        const root = lowerOf(arg.path ?? "");
        if (!root || root === "/")
          return send(
            res,
            400,
            'Error in call to API function "files/download_zip": request body: path: the root folder cannot be zipped',
          );
        const folder = nodes.get(root);
        if (!folder) return notFound(res);
        if (folder.kind !== "folder")
          return routeError(res, "path/not_folder", { ".tag": "path", path: { ".tag": "not_folder" } });
        const inside = [...nodes.entries()]
          .filter(([l]) => l.startsWith(`${root}/`))
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([, n]) => n);
        if (inside.length + 1 >= (options.zipMaxEntries ?? 10_000))
          return routeError(res, "too_many_files", { ".tag": "too_many_files" });
        const bytes = inside.reduce((sum, n) => sum + (n.content?.length ?? 0), 0);
        if (bytes >= (options.zipMaxBytes ?? 20 * 1024 ** 3))
          return routeError(res, "too_large", { ".tag": "too_large" });
        const name = folder.display.slice(folder.display.lastIndexOf("/") + 1);
        const zip = writeZip([
          { name: `${name}/`, content: null },
          ...inside.map((n) => {
            const content = n.kind === "folder" ? null : n.content!;
            return {
              name: `${name}${n.display.slice(folder.display.length)}${n.kind === "folder" ? "/" : ""}`,
              content: content && zipCorrupt.has(lowerOf(n.display)) ? Buffer.from(content.map((b) => b ^ 1)) : content,
            };
          }),
        ]);
        const result = JSON.stringify({ metadata: metadata(folder) }).replace(
          /[\u007f-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        );
        res.writeHead(200, { "content-type": "application/zip", "dropbox-api-result": result });
        if (!zipCut) return void res.end(zip);
        const cut = zipCut;
        zipCut = null;
        res.write(zip.subarray(0, cut.after), () => {
          if (cut.cleanEnd) res.end();
          else res.socket?.destroy();
        });
        return;
      }
      default:
        return send(res, 400, `Unknown API function: "${route}"`);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const route = (req.url ?? "").replace(/^\/2\//, "").split("?")[0]!;
      try {
        handle(route, req, Buffer.concat(chunks).toString(), res);
      } catch (err) {
        send(res, 500, { error_summary: `internal/${(err as Error).message}` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    env: { DROPBOX_API_URL: url },
    token: "dbx-token",
    accountId,
    requests,
    zipPaths,
    count: (route?: string) => requests.filter((r) => !route || r.route === route).length,
    /** Creates or overwrites a file (parents created as needed). */
    put(display: string, content: string | Buffer) {
      ensureFolders(display);
      const existing = nodes.get(lowerOf(display));
      const node: Node = {
        kind: "file",
        display: existing?.display ?? display,
        id: existing?.id ?? `id:${randomBytes(6).toString("hex")}`,
        content: Buffer.from(content),
        rev: (existing?.rev ?? 0) + 1,
        modified: new Date().toISOString(),
      };
      nodes.set(lowerOf(display), node);
      record(lowerOf(display), node.display, node);
    },
    /** Deletes a file or a folder; a folder yields one `deleted` entry, as Dropbox sends. */
    remove(display: string) {
      const lower = lowerOf(display);
      const node = nodes.get(lower);
      if (!node) throw new Error(`no ${display}`);
      for (const key of [...nodes.keys()]) if (key === lower || key.startsWith(`${lower}/`)) nodes.delete(key);
      record(lower, node.display, null);
    },
    /** Moves a file or folder: `deleted` for the old path, then the new entries (ids kept). */
    move(from: string, to: string) {
      const lower = lowerOf(from);
      const moved = [...nodes.entries()]
        .filter(([k]) => k === lower || k.startsWith(`${lower}/`))
        .sort(([a], [b]) => (a < b ? -1 : 1));
      if (moved.length === 0) throw new Error(`no ${from}`);
      const oldDisplay = nodes.get(lower)!.display;
      for (const [k] of moved) nodes.delete(k);
      record(lower, oldDisplay, null);
      ensureFolders(to);
      for (const [, node] of moved) {
        const display = to + node.display.slice(oldDisplay.length);
        const next = { ...node, display, modified: new Date().toISOString() };
        nodes.set(lowerOf(display), next);
        record(lowerOf(display), display, next);
      }
    },
    /** Voids every cursor handed out so far: their next continue answers `reset`. */
    resetCursors() {
      epoch++;
    },
    /**
     * Cuts the next zip after `bytes`: the connection is dropped, or with `cleanEnd` the answer
     * simply ends (chunked, so nothing says it is short but the missing end of the zip).
     */
    cutNextZip(bytes: number, cleanEnd = false) {
      zipCut = { after: bytes, cleanEnd };
    },
    /** Zips carry this file with every byte changed (same size, another content_hash). */
    corruptInZips(display: string) {
      zipCorrupt.add(lowerOf(display));
    },
    /** Downloads of this file are refused as Dropbox refuses restricted content (409 path/restricted_content). */
    restrictDownloads(display: string) {
      restricted.add(lowerOf(display));
    },
    throttleNext(count: number, retryAfter = 1, route?: string) {
      throttle = { count, retryAfter, route };
    },
    revokeTokens() {
      validTokens = new Set();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
export type DropboxFake = Awaited<ReturnType<typeof startDropboxFake>>;
