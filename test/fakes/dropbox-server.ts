import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A loopback Dropbox API v2 that speaks the wire format the SDK expects: RPC routes take JSON
// bodies, content routes a `Dropbox-API-Arg` header and answer with `Dropbox-API-Result`;
// errors are `{error_summary, error}` with 409 for route errors, 401 for tokens, 429 with
// Retry-After; cursors page and replay a change log, and void cursors answer `reset`.
// Test-only: production code never imports it.

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

export async function startDropboxFake(options: { pageLimit?: number } = {}) {
  const nodes = new Map<string, Node>();
  const log: LogEntry[] = [];
  const requests: { route: string }[] = [];
  let seq = 0;
  let epoch = 1;
  let nextId = 1;
  let validTokens = new Set(["dbx-token"]);
  let throttle: { count: number; retryAfter: number; route?: string } | null = null;
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
    requests.push({ route });
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
      route === "files/download"
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
        const result = JSON.stringify(metadata(node)).replace(
          /[\u007f-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        );
        res
          .writeHead(200, { "content-type": "application/octet-stream", "dropbox-api-result": result })
          .end(node.content);
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
