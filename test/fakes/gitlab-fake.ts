import { GitRepo } from "./git-repo";
import { json, startHttpFake, type FakeRequest } from "./http-fake";

export type GitLabHook = { id: number; url: string; token: string; pushEvents: boolean };

/**
 * GitLab's REST API v4 as gitbeaker calls it, for one project backed by a real git repository:
 * projects, branches, keyset-paginated trees (Link rel="next"), files, raw blobs, archive.tar.gz,
 * compare (straight or merge-base), project hooks. PRIVATE-TOKEN auth; RateLimit-* headers.
 * The project answers under its path and its id (7); after `renameProject` its former path is
 * a 404, as GitLab's API answers a path no project has.
 */
export async function startGitLabFake(options: { project: string; token: string; repo: GitRepo }) {
  const { token, repo } = options;
  let { project } = options;
  const hooks: GitLabHook[] = [];
  let nextHookId = 50;
  const PROJECT_ID = 7;
  const byPath = () => `/api/v4/projects/${encodeURIComponent(project)}`;
  const byId = `/api/v4/projects/${PROJECT_ID}`;
  const rate = {
    "ratelimit-limit": "2000",
    "ratelimit-remaining": "1999",
    "ratelimit-reset": String(Math.floor(Date.now() / 1000) + 60),
  };

  const fake = await startHttpFake((req: FakeRequest, res) => {
    if (req.headers["private-token"] !== token) return json(res, 401, { message: "401 Unauthorized" }, rate);
    const base = [byPath(), byId].find((b) => req.rawPath === b || req.rawPath.startsWith(`${b}/`));
    if (!base) return json(res, 404, { message: "404 Project Not Found" }, rate);
    const rest = req.rawPath.slice(base.length);
    let m: RegExpExecArray | null;
    if (req.method === "GET" && rest === "") {
      return json(
        res,
        200,
        {
          id: PROJECT_ID,
          path_with_namespace: project,
          default_branch: repo.branch,
          web_url: `${fake.base}/${project}`,
        },
        rate,
      );
    }
    if (req.method === "GET" && (m = /^\/repository\/branches\/(.+)$/.exec(rest))) {
      const name = decodeURIComponent(m[1]!);
      if (!repo.hasBranch(name)) return json(res, 404, { message: "404 Branch Not Found" }, rate);
      return json(
        res,
        200,
        { name, commit: { id: repo.head(name) }, web_url: `${fake.base}/${project}/-/tree/${name}` },
        rate,
      );
    }
    if (req.method === "GET" && rest === "/repository/tree") {
      const ref = repo.resolve(req.query.get("ref") ?? repo.branch)!;
      const all = repo.tree(ref);
      const perPage = Number(req.query.get("per_page") ?? 20);
      const after = req.query.get("page_token");
      const startAt = after ? all.findIndex((e) => e.path === after) + 1 : 0;
      const page = all.slice(startAt, startAt + perPage);
      const headers: Record<string, string> = { ...rate };
      if (startAt + perPage < all.length) {
        const next = new URL(`${fake.base}${req.rawPath}`);
        req.query.forEach((v, k) => next.searchParams.set(k, v));
        next.searchParams.set("page_token", page.at(-1)!.path);
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      return json(
        res,
        200,
        page.map((e) => ({ id: e.sha, name: e.path.split("/").pop(), type: e.type, path: e.path, mode: e.mode })),
        headers,
      );
    }
    if (req.method === "GET" && (m = /^\/repository\/files\/([^/]+)$/.exec(rest))) {
      const ref = repo.resolve(req.query.get("ref") ?? repo.branch);
      const entry = ref ? repo.fileAt(ref, decodeURIComponent(m[1]!)) : null;
      if (!entry) return json(res, 404, { message: "404 File Not Found" }, rate);
      const content = repo.blob(entry.sha)!;
      return json(
        res,
        200,
        {
          file_path: entry.path,
          size: content.length,
          encoding: "base64",
          content: content.toString("base64"),
          blob_id: entry.sha,
          ref,
        },
        rate,
      );
    }
    if (req.method === "GET" && (m = /^\/repository\/files\/([^/]+)\/raw$/.exec(rest))) {
      const ref = repo.resolve(req.query.get("ref") ?? repo.branch);
      const entry = ref ? repo.fileAt(ref, decodeURIComponent(m[1]!)) : null;
      if (!entry) return json(res, 404, { message: "404 File Not Found" }, rate);
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", ...rate }).end(repo.blob(entry.sha)!);
      return;
    }
    if (req.method === "GET" && (m = /^\/repository\/blobs\/([0-9a-f]{40})\/raw$/.exec(rest))) {
      const content = repo.blob(m[1]!);
      if (!content) return json(res, 404, { message: "404 Blob Not Found" }, rate);
      res.writeHead(200, { "content-type": "application/octet-stream", ...rate }).end(content);
      return;
    }
    if (req.method === "GET" && rest === "/repository/archive.tar.gz") {
      const sha = repo.resolve(req.query.get("sha") ?? repo.branch);
      if (!sha) return json(res, 404, { message: "404 Not Found" }, rate);
      res.writeHead(200, { "content-type": "application/octet-stream", ...rate });
      repo.archive(sha, `${project.split("/").pop()}-${sha}-${sha}`).pipe(res);
      return;
    }
    if (req.method === "GET" && rest === "/repository/compare") {
      const from = repo.resolve(req.query.get("from") ?? "");
      const to = repo.resolve(req.query.get("to") ?? "");
      if (!from || !to) return json(res, 404, { message: "404 Ref Not Found" }, rate);
      const start = req.query.get("straight") === "true" ? from : repo.mergeBase(from, to);
      const diffs = repo.diff(start, to).map((d) => ({
        old_path: d.previousPath ?? d.path,
        new_path: d.path,
        new_file: d.status === "added",
        renamed_file: d.status === "renamed",
        deleted_file: d.status === "removed",
        a_mode: d.oldMode === "000000" ? "0" : d.oldMode,
        b_mode: d.mode === "000000" ? "0" : d.mode,
        diff: "",
      }));
      return json(
        res,
        200,
        { commit: { id: to }, commits: [], diffs, compare_timeout: false, compare_same_ref: from === to },
        rate,
      );
    }
    if (req.method === "POST" && rest === "/hooks") {
      const body = JSON.parse(req.body || "{}");
      const hook = { id: nextHookId++, url: body.url, token: body.token, pushEvents: body.push_events };
      hooks.push(hook);
      return json(res, 201, { id: hook.id, url: hook.url, push_events: hook.pushEvents }, rate);
    }
    if (req.method === "DELETE" && (m = /^\/hooks\/(\d+)$/.exec(rest))) {
      const index = hooks.findIndex((h) => h.id === Number(m![1]));
      if (index < 0) return json(res, 404, { message: "404 Not found" }, rate);
      hooks.splice(index, 1);
      res.writeHead(204, rate).end();
      return;
    }
    json(res, 404, { message: "404 Not Found" }, rate);
  });
  return {
    ...fake,
    hooks,
    /** Renames or transfers the project: its id still answers, its former path is a 404. */
    renameProject(next: string) {
      project = next;
    },
    /**
     * The next `times` matching requests answer as GitLab's Rack::Attack throttle does: 429,
     * text/plain "Retry later", RateLimit-* headers (Reset in epoch seconds, ResetTime as an
     * HTTP date) and Retry-After in seconds.
     */
    throttle(match: RegExp, seconds = 1, times = 1) {
      const reset = new Date(Date.now() + seconds * 1000);
      fake.inject(match, 429, {
        times,
        body: "Retry later\n",
        headers: {
          "content-type": "text/plain",
          "ratelimit-name": "throttle_authenticated_api",
          "ratelimit-limit": "2000",
          "ratelimit-observed": "2001",
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(Math.ceil(reset.getTime() / 1000)),
          "ratelimit-resettime": reset.toUTCString(),
          "retry-after": String(seconds),
        },
      });
    },
  };
}
