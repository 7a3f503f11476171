import type { ServerResponse } from "node:http";
import { GitRepo } from "./git-repo";
import { json, startHttpFake, type FakeRequest } from "./http-fake";

export type GitHubHook = {
  id: number;
  repo: string;
  url: string;
  secret: string;
  contentType: string;
  events: string[];
};

/**
 * GitHub's REST API as octokit calls it, for one repository backed by a real git repository:
 * repos, branches, commits (sha media type, ETag/304), git trees and blobs, contents, tarball
 * (302 to a codeload path), compare (three-dot, at most 300 files), hooks. Every answer carries
 * x-ratelimit-* headers; errors are GitHub's JSON bodies.
 */
export async function startGitHubFake(options: {
  owner: string;
  name: string;
  token: string;
  repo: GitRepo;
  anyRepo?: boolean;
}) {
  const { repo } = options;
  let { owner } = options;
  let token = options.token;
  const hooks: GitHubHook[] = [];
  let nextHookId = 1000;
  let prefix = `/repos/${owner}/${options.name}`;
  /** Former full names (renamed or transferred): answered 301 to /repositories/{id}/..., as GitHub does. */
  const formerNames = new Set<string>();
  const REPO_ID = 1;
  /** A recursive tree over this many entries is answered truncated, as GitHub does past 100,000. */
  let treeLimit = Infinity;
  const rateHeaders = {
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
  };
  const notFound = (res: ServerResponse) =>
    json(
      res,
      404,
      { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" },
      rateHeaders,
    );

  const fake = await startHttpFake((req: FakeRequest, res) => {
    if (req.path.startsWith("/_codeload/")) {
      // The download host: no API token, a signed path instead.
      const sha = req.path.split("/").pop()!;
      res.writeHead(200, { "content-type": "application/x-gzip" });
      repo.archive(sha, `${owner}-${req.path.split("/")[3]}-${sha.slice(0, 7)}`).pipe(res);
      return;
    }
    const auth = req.headers.authorization ?? "";
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) {
      json(
        res,
        401,
        { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" },
        rateHeaders,
      );
      return;
    }
    const former = /^\/repos\/([^/]+\/[^/]+)(\/.*)?$/.exec(req.path);
    if (former && formerNames.has(former[1]!.toLowerCase())) {
      const location = `${fake.base}/repositories/${REPO_ID}${former[2] ?? ""}${req.query.size ? `?${req.query}` : ""}`;
      return json(
        res,
        301,
        { message: "Moved Permanently", url: location, documentation_url: "https://docs.github.com/rest" },
        { location, ...rateHeaders },
      );
    }
    // anyRepo: every repository of `owner` is the same repository (many sources, one fake).
    const other = options.anyRepo ? new RegExp(`^/repos/${owner}/([^/]+)`).exec(req.path) : null;
    const byId = req.path.startsWith(`/repositories/${REPO_ID}`) ? `/repositories/${REPO_ID}` : null;
    const name = other ? other[1]! : options.name;
    const repoPrefix = byId ?? (other ? other[0] : prefix);
    if (!req.path.startsWith(repoPrefix)) return notFound(res);
    const rest = req.path.slice(repoPrefix.length);
    const accept = String(req.headers.accept ?? "");
    let m: RegExpExecArray | null;
    // An empty repository: everything that needs a commit answers 409.
    if (req.method === "GET" && repo.isEmpty() && /^\/(commits|git|tarball|zipball|compare|contents)\//.test(rest)) {
      return json(
        res,
        409,
        { message: "Git Repository is empty.", documentation_url: "https://docs.github.com/rest", status: "409" },
        rateHeaders,
      );
    }
    if (req.method === "GET" && rest === "") {
      return json(
        res,
        200,
        { id: REPO_ID, name, full_name: `${owner}/${name}`, private: true, default_branch: repo.branch },
        rateHeaders,
      );
    }
    if (req.method === "GET" && (m = /^\/branches\/(.+)$/.exec(rest))) {
      if (!repo.hasBranch(m[1]!)) return json(res, 404, { message: "Branch not found", status: "404" }, rateHeaders);
      return json(res, 200, { name: m[1], commit: { sha: repo.head(m[1]) } }, rateHeaders);
    }
    if (req.method === "GET" && (m = /^\/commits\/(.+)$/.exec(rest))) {
      const sha = repo.resolve(m[1]!);
      if (!sha) return json(res, 422, { message: `No commit found for SHA: ${m[1]}`, status: "422" }, rateHeaders);
      const etag = `"${sha}"`;
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag, ...rateHeaders }).end();
        return;
      }
      if (accept.includes("application/vnd.github.sha")) {
        res
          .writeHead(200, { "content-type": "application/vnd.github.sha; charset=utf-8", etag, ...rateHeaders })
          .end(sha);
        return;
      }
      return json(res, 200, { sha }, { etag, ...rateHeaders });
    }
    if (req.method === "GET" && (m = /^\/git\/trees\/([0-9a-f]{40})$/.exec(rest))) {
      const recursive = !!req.query.get("recursive");
      const all = repo.tree(m[1]!, { recursive });
      const truncated = recursive && all.length > treeLimit;
      const entries = truncated ? all.slice(0, treeLimit) : all;
      return json(
        res,
        200,
        {
          sha: m[1],
          truncated,
          tree: entries.map((e) => ({
            path: e.path,
            mode: e.mode,
            type: e.type,
            sha: e.sha,
            ...(e.type === "blob" ? { size: e.size } : {}),
          })),
        },
        rateHeaders,
      );
    }
    if (req.method === "GET" && (m = /^\/git\/blobs\/([0-9a-f]{40})$/.exec(rest))) {
      const content = repo.blob(m[1]!);
      if (!content) return notFound(res);
      if (accept.includes("raw")) {
        res.writeHead(200, { "content-type": "application/vnd.github.raw", ...rateHeaders }).end(content);
        return;
      }
      return json(
        res,
        200,
        { sha: m[1], size: content.length, encoding: "base64", content: content.toString("base64") },
        rateHeaders,
      );
    }
    if (req.method === "GET" && (m = /^\/contents\/(.+)$/.exec(rest))) {
      const ref = repo.resolve(req.query.get("ref") ?? repo.branch);
      const entry = ref ? repo.fileAt(ref, m[1]!) : null;
      if (!entry) return notFound(res);
      if (accept.includes("raw")) {
        res.writeHead(200, { "content-type": "application/vnd.github.raw", ...rateHeaders }).end(repo.blob(entry.sha));
        return;
      }
      return json(res, 200, { type: "file", path: entry.path, sha: entry.sha, size: entry.size }, rateHeaders);
    }
    if (req.method === "GET" && (m = /^\/tarball\/(.+)$/.exec(rest))) {
      const sha = repo.resolve(m[1]!);
      if (!sha) return notFound(res);
      res
        .writeHead(302, { location: `${fake.base}/_codeload/${owner}/${name}/legacy.tar.gz/${sha}`, ...rateHeaders })
        .end();
      return;
    }
    if (req.method === "GET" && (m = /^\/compare\/([^.]+)\.\.\.(.+)$/.exec(rest))) {
      const base = repo.resolve(m[1]!);
      const head = repo.resolve(m[2]!);
      if (!base || !head) return notFound(res);
      const mergeBase = repo.mergeBase(base, head);
      const status =
        base === head ? "identical" : mergeBase === base ? "ahead" : mergeBase === head ? "behind" : "diverged";
      const files = repo
        .diff(mergeBase, head)
        .slice(0, 300)
        .map((d) => ({
          sha: d.sha,
          filename: d.path,
          status: d.status,
          ...(d.previousPath ? { previous_filename: d.previousPath } : {}),
        }));
      return json(res, 200, { status, merge_base_commit: { sha: mergeBase }, files }, rateHeaders);
    }
    if (req.method === "POST" && rest === "/hooks") {
      const body = JSON.parse(req.body);
      const hook = {
        id: nextHookId++,
        repo: name,
        url: body.config.url,
        secret: body.config.secret,
        contentType: body.config.content_type,
        events: body.events,
      };
      hooks.push(hook);
      return json(
        res,
        201,
        {
          id: hook.id,
          name: "web",
          active: true,
          events: hook.events,
          config: { url: hook.url, content_type: hook.contentType, insecure_ssl: "0" },
        },
        rateHeaders,
      );
    }
    if (req.method === "DELETE" && (m = /^\/hooks\/(\d+)$/.exec(rest))) {
      const index = hooks.findIndex((h) => h.id === Number(m![1]) && h.repo === name);
      if (index < 0) return notFound(res);
      hooks.splice(index, 1);
      res.writeHead(204, rateHeaders).end();
      return;
    }
    notFound(res);
  });
  return {
    ...fake,
    hooks,
    /** Renames or transfers the repository: the old name answers 301 from now on. */
    renameRepo(fullName: string) {
      formerNames.add(`${owner}/${options.name}`.toLowerCase());
      [owner, options.name] = fullName.split("/") as [string, string];
      prefix = `/repos/${fullName}`;
    },
    /** Recursive trees over `entries` entries are answered truncated from now on (Infinity: never). */
    truncateTreesOver(entries: number) {
      treeLimit = entries;
    },
    /** Accepts only `next` from now on (a revoked or rotated token). */
    setToken(next: string) {
      token = next;
    },
  };
}
