import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A loopback Google Drive API v3 speaking the wire format googleapis expects: `q` queries,
// `fields` masks applied to every answer, pageSize/pageToken paging, shared drives that need
// supportsAllDrives, native Google files (no md5, exported, 10 MB export limit), trash,
// moves, a change log behind changes.list, changes.watch channels, and Google's error body
// `{error: {code, message, errors: [{reason}], status}}` for 401, 403 rate limits and 429.
// Test-only: production code never imports it.

export const FOLDER = "application/vnd.google-apps.folder";
export const DOC = "application/vnd.google-apps.document";
export const SHEET = "application/vnd.google-apps.spreadsheet";
export const SLIDES = "application/vnd.google-apps.presentation";
export const FORM = "application/vnd.google-apps.form";

type DFile = {
  id: string;
  name: string;
  mimeType: string;
  parent: string | null;
  driveId: string | null;
  trashed: boolean;
  content: Buffer;
  version: number;
  modifiedTime: string;
};
type Change = { changeId: number; fileId: string; driveId: string | null; removed: boolean; file: DFile | null };
type Channel = {
  id: string;
  resourceId: string;
  token: string;
  address: string;
  expiration: number;
  driveId: string | null;
  messages: number;
  stopped: boolean;
};

const EXPORT_LIMIT = 10 * 1024 * 1024;

// ---- field masks: "nextPageToken,files(id,name)" ----
type Mask = Map<string, Mask | true>;
function parseMask(text: string): Mask {
  let i = 0;
  const parse = (): Mask => {
    const mask: Mask = new Map();
    let name = "";
    const flush = (sub: Mask | true) => {
      if (name.trim()) mask.set(name.trim(), sub);
      name = "";
    };
    while (i < text.length) {
      const c = text[i++]!;
      if (c === ",") flush(true);
      else if (c === "(") {
        const sub = parse();
        flush(sub);
        if (text[i] === ",") i++;
      } else if (c === ")") break;
      else name += c;
    }
    flush(true);
    return mask;
  };
  return parse();
}
function project(value: unknown, mask: Mask | true): unknown {
  if (mask === true || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => project(v, mask));
  const out: Record<string, unknown> = {};
  for (const [key, sub] of mask)
    if ((value as Record<string, unknown>)[key] !== undefined)
      out[key] = project((value as Record<string, unknown>)[key], sub);
  return out;
}

// ---- queries: "('a' in parents or 'b' in parents) and trashed = false" ----
type Pred = (f: DFile, trashed: boolean) => boolean;
function parseQuery(q: string): Pred {
  const tokens = q.match(/'(?:[^'\\]|\\.)*'|\(|\)|!=|=|[A-Za-z]+/g) ?? [];
  let i = 0;
  const str = (t: string) => t.slice(1, -1).replace(/\\(.)/g, "$1");
  const expr = (): Pred => {
    let left = term();
    while (tokens[i] === "or") {
      i++;
      const l = left,
        r = term();
      left = (f, t) => l(f, t) || r(f, t);
    }
    return left;
  };
  const term = (): Pred => {
    let left = factor();
    while (tokens[i] === "and") {
      i++;
      const l = left,
        r = factor();
      left = (f, t) => l(f, t) && r(f, t);
    }
    return left;
  };
  const factor = (): Pred => {
    const t = tokens[i++]!;
    if (t === "(") {
      const e = expr();
      i++;
      return e;
    }
    if (t === "not") {
      const e = factor();
      return (f, tr) => !e(f, tr);
    }
    if (t.startsWith("'")) {
      const value = str(t);
      if (tokens[i++] !== "in" || tokens[i++] !== "parents") throw new Error(`Invalid Value: ${q}`);
      return (f) => f.parent === value;
    }
    const op = tokens[i++]!;
    const raw = tokens[i++]!;
    const value = raw.startsWith("'") ? str(raw) : raw;
    const cmp = (a: string) => (op === "=" ? a === value : a !== value);
    if (t === "trashed") return (_f, trashed) => cmp(String(trashed));
    if (t === "mimeType") return (f) => cmp(f.mimeType);
    if (t === "name") return (f) => cmp(f.name);
    throw new Error(`Invalid Value: ${q}`);
  };
  const pred = expr();
  if (i !== tokens.length) throw new Error(`Invalid Value: ${q}`);
  return pred;
}

/** `latencyMs`: each answer waits this long first (a provider across a network, for benchmarks). */
export async function startDriveFake(options: { maxPageSize?: number; latencyMs?: number } = {}) {
  const files = new Map<string, DFile>();
  const drives = new Map<string, string>();
  const log: Change[] = [];
  const channels: Channel[] = [];
  const requests: { method: string; route: string; query: URLSearchParams; at: number }[] = [];
  const events: string[] = [];
  let nextChange = 1;
  let validTokens = new Set(["drive-token"]);
  let throttle: { count: number; kind: "userRateLimitExceeded" | "rateLimitExceeded" | "429"; route?: string } | null =
    null;
  const newId = () => randomBytes(9).toString("base64url");
  const rootId = `root-${newId()}`;
  files.set(rootId, {
    id: rootId,
    name: "My Drive",
    mimeType: FOLDER,
    parent: null,
    driveId: null,
    trashed: false,
    content: Buffer.alloc(0),
    version: 1,
    modifiedTime: new Date().toISOString(),
  });

  const effectiveTrashed = (f: DFile): boolean => {
    for (
      let cur: DFile | undefined = f, depth = 0;
      cur && depth < 100;
      cur = cur.parent ? files.get(cur.parent) : undefined, depth++
    )
      if (cur.trashed) return true;
    return false;
  };
  function record(f: DFile, removed = false) {
    log.push({ changeId: nextChange++, fileId: f.id, driveId: f.driveId, removed, file: removed ? null : { ...f } });
  }
  function touch(f: DFile) {
    f.version++;
    f.modifiedTime = new Date().toISOString();
    record(f);
  }
  function resource(f: DFile) {
    const native = f.mimeType.startsWith("application/vnd.google-apps.");
    return {
      kind: "drive#file",
      id: f.id,
      name: f.name,
      mimeType: f.mimeType,
      parents: f.parent ? [f.parent] : undefined,
      trashed: effectiveTrashed(f),
      explicitlyTrashed: f.trashed,
      driveId: f.driveId ?? undefined,
      version: String(f.version),
      modifiedTime: f.modifiedTime,
      md5Checksum: native ? undefined : createHash("md5").update(f.content).digest("hex"),
      size: native ? undefined : String(f.content.length),
    };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers }).end(JSON.stringify(body));
  }
  function googleError(
    res: ServerResponse,
    code: number,
    reason: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    const status =
      {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
      }[code] ?? "UNKNOWN";
    send(
      res,
      code,
      {
        error: {
          code,
          message,
          errors: [{ message, domain: code === 403 && reason.includes("Rate") ? "usageLimits" : "global", reason }],
          status,
        },
      },
      headers,
    );
  }
  const mask = (query: URLSearchParams, fallback: string) => parseMask(query.get("fields") || fallback);
  const allDrives = (query: URLSearchParams) => query.get("supportsAllDrives") === "true";
  /** A file as the caller may see it: shared-drive items need supportsAllDrives. */
  const visible = (id: string, query: URLSearchParams): DFile | null => {
    const f = files.get(id === "root" ? rootId : id);
    if (!f) return null;
    if (f.driveId && !allDrives(query)) return null;
    return f;
  };

  function handle(
    method: string,
    route: string,
    query: URLSearchParams,
    raw: string,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    requests.push({ method, route, query, at: Date.now() });
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""))?.[1];
    if (!auth || !validTokens.has(auth))
      return googleError(res, 401, "authError", "Request had invalid authentication credentials.");
    if (throttle && throttle.count > 0 && (!throttle.route || route.startsWith(throttle.route))) {
      throttle.count--;
      if (throttle.kind === "429") return googleError(res, 429, "rateLimitExceeded", "Too many requests.");
      return googleError(
        res,
        403,
        throttle.kind,
        throttle.kind === "userRateLimitExceeded" ? "User rate limit exceeded." : "Rate limit exceeded.",
      );
    }
    let m: RegExpExecArray | null;
    if (method === "GET" && route === "files") {
      const pageSize = Math.min(Number(query.get("pageSize") ?? 100), 1000, options.maxPageSize ?? 1000);
      const corpora = query.get("corpora") ?? "user";
      const driveId = query.get("driveId");
      if (corpora === "drive" && (!driveId || query.get("includeItemsFromAllDrives") !== "true" || !allDrives(query))) {
        return googleError(
          res,
          403,
          "teamDrivesParameterRequired",
          "corpora=drive needs driveId, includeItemsFromAllDrives and supportsAllDrives.",
        );
      }
      let pred: Pred;
      try {
        pred = parseQuery(query.get("q") ?? "trashed = false or trashed = true");
      } catch (err) {
        return googleError(res, 400, "invalid", (err as Error).message);
      }
      const all = [...files.values()]
        .filter(
          (f) =>
            f.id !== rootId &&
            (corpora === "drive"
              ? f.driveId === driveId
              : f.driveId === null || query.get("includeItemsFromAllDrives") === "true"),
        )
        .filter((f) => pred(f, effectiveTrashed(f)))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      const offset = Number(query.get("pageToken") ?? 0);
      const slice = all.slice(offset, offset + pageSize);
      const body = {
        kind: "drive#fileList",
        incompleteSearch: false,
        files: slice.map(resource),
        nextPageToken: offset + pageSize < all.length ? String(offset + pageSize) : undefined,
      };
      return send(
        res,
        200,
        project(body, mask(query, "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)")),
      );
    }
    if (method === "GET" && (m = /^files\/([^/]+)\/export$/.exec(route))) {
      const f = visible(m[1]!, new URLSearchParams("supportsAllDrives=true"));
      if (!f) return googleError(res, 404, "notFound", `File not found: ${m[1]}.`);
      const target = query.get("mimeType");
      const allowed: Record<string, string[]> = {
        [DOC]: ["text/markdown", "text/plain"],
        [SHEET]: ["text/csv"],
        [SLIDES]: ["text/plain"],
      };
      if (!allowed[f.mimeType]?.includes(target ?? ""))
        return googleError(res, 400, "badRequest", "The requested conversion is not supported.");
      if (f.content.length > EXPORT_LIMIT)
        return googleError(res, 403, "exportSizeLimitExceeded", "This file is too large to be exported.");
      const body =
        target === "text/plain" && f.mimeType === DOC
          ? Buffer.from(f.content.toString().replace(/^#+\s*/gm, ""))
          : f.content;
      res.writeHead(200, { "content-type": target! }).end(body);
      return;
    }
    if (method === "GET" && (m = /^files\/([^/]+)$/.exec(route))) {
      const f = visible(decodeURIComponent(m[1]!), query);
      if (!f) return googleError(res, 404, "notFound", `File not found: ${m[1]}.`);
      if (query.get("alt") === "media") {
        if (f.mimeType.startsWith("application/vnd.google-apps."))
          return googleError(
            res,
            403,
            "fileNotDownloadable",
            "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
          );
        res.writeHead(200, { "content-type": f.mimeType }).end(f.content);
        return;
      }
      return send(res, 200, project(resource(f), mask(query, "kind,id,name,mimeType")));
    }
    if (method === "GET" && (m = /^drives\/([^/]+)$/.exec(route))) {
      const name = drives.get(m[1]!);
      if (!name) return googleError(res, 404, "notFound", `Shared drive not found: ${m[1]}`);
      return send(res, 200, project({ kind: "drive#drive", id: m[1], name }, mask(query, "kind,id,name")));
    }
    if (method === "GET" && route === "changes/startPageToken") {
      return send(res, 200, { kind: "drive#startPageToken", startPageToken: String(nextChange) });
    }
    if (method === "GET" && route === "changes") {
      const from = Number(query.get("pageToken"));
      if (!Number.isInteger(from) || from < 1 || from > nextChange)
        return googleError(res, 400, "invalid", "Invalid Value");
      const driveId = query.get("driveId");
      if (driveId && !allDrives(query))
        return googleError(res, 403, "teamDrivesParameterRequired", "driveId needs supportsAllDrives.");
      const pageSize = Math.min(Number(query.get("pageSize") ?? 100), 1000, options.maxPageSize ?? 1000);
      const relevant = log.filter(
        (c) =>
          c.changeId >= from &&
          (driveId ? c.driveId === driveId : c.driveId === null || query.get("includeItemsFromAllDrives") === "true"),
      );
      const slice = relevant.slice(0, pageSize);
      const more = relevant.length > slice.length;
      const body = {
        kind: "drive#changeList",
        changes: slice.map((c) => ({
          kind: "drive#change",
          changeType: "file",
          fileId: c.fileId,
          removed: c.removed,
          time: new Date().toISOString(),
          file: c.file ? resource(c.file) : undefined,
        })),
        nextPageToken: more ? String(slice.at(-1)!.changeId + 1) : undefined,
        newStartPageToken: more ? undefined : String(nextChange),
      };
      return send(
        res,
        200,
        project(
          body,
          mask(
            query,
            "kind,nextPageToken,newStartPageToken,changes(kind,changeType,fileId,removed,time,file(kind,id,name,mimeType))",
          ),
        ),
      );
    }
    if (method === "POST" && route === "changes/watch") {
      const body = JSON.parse(raw || "{}");
      if (!query.get("pageToken")) return googleError(res, 400, "required", "Required parameter: pageToken");
      if (!body.id || body.type !== "web_hook" || !body.address)
        return googleError(res, 400, "invalid", "Invalid channel.");
      if (body.token && String(body.token).length > 256)
        return googleError(res, 400, "invalid", "Channel token too long.");
      const channel: Channel = {
        id: body.id,
        resourceId: `res-${newId()}`,
        token: body.token ?? "",
        address: body.address,
        expiration: Math.min(Number(body.expiration ?? Date.now() + 3600_000), Date.now() + 7 * 86_400_000),
        driveId: query.get("driveId"),
        messages: 0,
        stopped: false,
      };
      channels.push(channel);
      events.push(`watch ${channel.id}`);
      return send(res, 200, {
        kind: "api#channel",
        id: channel.id,
        resourceId: channel.resourceId,
        resourceUri: `https://www.googleapis.com/drive/v3/changes?alt=json&pageToken=${query.get("pageToken")}`,
        expiration: String(channel.expiration),
      });
    }
    if (method === "POST" && route === "channels/stop") {
      const body = JSON.parse(raw || "{}");
      const channel = channels.find((c) => c.id === body.id && c.resourceId === body.resourceId && !c.stopped);
      if (!channel) return googleError(res, 404, "notFound", `Channel '${body.id}' not found for project`);
      channel.stopped = true;
      events.push(`stop ${channel.id}`);
      res.writeHead(204).end();
      return;
    }
    return googleError(res, 404, "notFound", `Not Found: ${method} ${route}`);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const route = url.pathname.replace(/^\/drive\/v3\//, "");
        try {
          handle(req.method ?? "GET", route, url.searchParams, Buffer.concat(chunks).toString(), req, res);
        } catch (err) {
          googleError(res, 500, "backendError", (err as Error).message);
        }
      };
      if (options.latencyMs) setTimeout(answer, options.latencyMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  function add(name: string, parent: string, mimeType: string, content: string | Buffer = ""): string {
    const p = files.get(parent);
    if (!p) throw new Error(`no parent ${parent}`);
    const f: DFile = {
      id: newId(),
      name,
      mimeType,
      parent,
      driveId: p.driveId,
      trashed: false,
      content: Buffer.from(content),
      version: 1,
      modifiedTime: new Date().toISOString(),
    };
    files.set(f.id, f);
    record(f);
    return f.id;
  }
  const get = (id: string) => {
    const f = files.get(id);
    if (!f) throw new Error(`no file ${id}`);
    return f;
  };

  return {
    url,
    env: { GOOGLE_API_URL: url },
    token: "drive-token",
    rootId,
    requests,
    /** "watch <id>" / "stop <id>" in the order they happened. */
    events,
    channels,
    count: (route?: string | RegExp, method?: string) =>
      requests.filter(
        (r) =>
          (!method || r.method === method) &&
          (!route || (typeof route === "string" ? r.route === route : route.test(r.route))),
      ).length,
    addSharedDrive(name: string): string {
      const id = `drive-${newId()}`;
      drives.set(id, name);
      files.set(id, {
        id,
        name,
        mimeType: FOLDER,
        parent: null,
        driveId: id,
        trashed: false,
        content: Buffer.alloc(0),
        version: 1,
        modifiedTime: new Date().toISOString(),
      });
      return id;
    },
    folder: (name: string, parent = rootId) => add(name, parent, FOLDER),
    file: (name: string, parent: string, content: string | Buffer, mimeType = "text/plain") =>
      add(name, parent, mimeType, content),
    edit(id: string, content: string | Buffer) {
      get(id).content = Buffer.from(content);
      touch(get(id));
    },
    rename(id: string, name: string) {
      get(id).name = name;
      touch(get(id));
    },
    move(id: string, parent: string) {
      get(id).parent = parent;
      touch(get(id));
    },
    /** Trashes a file or folder; for a folder only the folder itself shows in the change log. */
    trash(id: string) {
      get(id).trashed = true;
      touch(get(id));
    },
    /** Deletes for good: the file (and a folder's descendants) become `removed` changes. */
    deleteForever(id: string) {
      const doomed = [...files.values()].filter((f) => {
        for (let cur: DFile | undefined = f; cur; cur = cur.parent ? files.get(cur.parent) : undefined)
          if (cur.id === id) return true;
        return false;
      });
      for (const f of doomed) {
        files.delete(f.id);
        record(f, true);
      }
    },
    /** The headers Drive sends to a channel's address for its next message. */
    notification(channel: Channel, state = "change"): Headers {
      channel.messages++;
      return new Headers({
        "x-goog-channel-id": channel.id,
        "x-goog-channel-token": channel.token,
        "x-goog-channel-expiration": new Date(channel.expiration).toUTCString(),
        "x-goog-resource-id": channel.resourceId,
        "x-goog-resource-uri": "https://www.googleapis.com/drive/v3/changes?alt=json",
        "x-goog-resource-state": state,
        "x-goog-message-number": String(channel.messages === 1 ? 1 : channel.messages * 1000 + 17),
        ...(state === "sync" ? {} : { "x-goog-changed": "content" }),
      });
    },
    throttleNext(count: number, kind: "userRateLimitExceeded" | "rateLimitExceeded" | "429", route?: string) {
      throttle = { count, kind, route };
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
export type DriveFake = Awaited<ReturnType<typeof startDriveFake>>;
