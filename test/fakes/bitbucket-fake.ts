import { GitRepo } from "./git-repo";
import { json, startHttpFake, type FakeRequest } from "./http-fake";

export type BitbucketHook = { uuid: string; url: string; secret: string; events: string[] };

/**
 * Bitbucket Cloud's 2.0 API (under /2.0) and its archive host (/{ws}/{repo}/get/{sha}.tar.gz),
 * one repository backed by a real git repository: repositories, refs/branches, src (raw and
 * format=meta), diffstat (paged with `next`, two-dot with topic=false), hooks. Bearer auth.
 * The repository also answers by its UUID (`/2.0/repositories/{}/{uuid}`, any workspace); after
 * `renameRepo` its former name is a 404, as Bitbucket answers a name no repository has.
 */
export async function startBitbucketFake(options: {
  fullName: string;
  token: string;
  repo: GitRepo;
  pagelen?: number;
}) {
  const { token, repo } = options;
  let { fullName } = options;
  const hooks: BitbucketHook[] = [];
  let nextHook = 1;
  const REPO_UUID = "{3f1d5a2e-9c4b-4e7a-8d21-6b0c9e4f7a15}";
  const byName = () => `/2.0/repositories/${fullName}`;
  /** `/2.0/repositories/{workspace or {}}/{uuid}` as decoded: the repository by its UUID. */
  const byUuid = (path: string) => {
    const [, , , workspace, slug] = path.split("/");
    return workspace !== undefined && slug?.toLowerCase() === REPO_UUID
      ? `/2.0/repositories/${workspace}/${slug}`
      : null;
  };
  // A commit_file's `attributes`: what Bitbucket says of symlinks, submodules and executables.
  const attributesOf = (mode: string) =>
    mode === "120000"
      ? { attributes: "link" }
      : mode === "160000"
        ? { attributes: "subrepository" }
        : mode === "100755"
          ? { attributes: "executable" }
          : {};
  const error = (message: string) => ({ type: "error", error: { message } });

  const fake = await startHttpFake((req: FakeRequest, res) => {
    if (req.headers.authorization !== `Bearer ${token}`)
      return json(res, 401, error("Access token expired or invalid"));
    if (req.path.startsWith(`/${fullName}/get/`)) {
      const sha = repo.resolve(
        req.path
          .split("/")
          .pop()!
          .replace(/\.tar\.gz$/, ""),
      );
      if (!sha) return json(res, 404, error("Not found"));
      res.writeHead(200, { "content-type": "application/x-tar" });
      repo.archive(sha, `${fullName.replace("/", "-")}-${sha.slice(0, 12)}`).pipe(res);
      return;
    }
    const api = byUuid(req.path) ?? byName();
    if (req.path !== api && !req.path.startsWith(`${api}/`))
      return json(
        res,
        404,
        error(`Repository ${req.path.replace("/2.0/repositories/", "").split("/").slice(0, 2).join("/")} not found`),
      );
    const rest = req.path.slice(api.length);
    let m: RegExpExecArray | null;
    if (req.method === "GET" && rest === "")
      return json(res, 200, {
        full_name: fullName,
        uuid: REPO_UUID,
        is_private: true,
        mainbranch: { name: repo.branch, type: "branch" },
      });
    if (req.method === "GET" && (m = /^\/refs\/branches\/(.+)$/.exec(rest))) {
      if (!repo.hasBranch(m[1]!)) return json(res, 404, error(`Branch "${m[1]}" not found`));
      return json(res, 200, {
        name: m[1],
        type: "branch",
        target: {
          hash: repo.head(m[1]),
          type: "commit",
          repository: { type: "repository", full_name: fullName, uuid: REPO_UUID },
        },
      });
    }
    if (req.method === "GET" && (m = /^\/src\/([0-9a-f]{40})\/(.+)$/.exec(rest))) {
      const entry = repo.fileAt(m[1]!, m[2]!);
      if (!entry) return json(res, 404, error("No such file or directory"));
      if (req.query.get("format") === "meta")
        return json(res, 200, { type: "commit_file", path: entry.path, size: entry.size, commit: { hash: m[1] } });
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(repo.blob(entry.sha));
      return;
    }
    if (req.method === "GET" && (m = /^\/diffstat\/([^.]+)\.\.(.+)$/.exec(rest))) {
      const head = repo.resolve(m[1]!);
      const base = repo.resolve(m[2]!);
      if (!head || !base) return json(res, 404, error("Revision not found"));
      const start = req.query.get("topic") === "false" ? base : repo.mergeBase(base, head);
      const all = repo.diff(start, head).map((d) => ({
        type: "diffstat",
        status: d.status,
        old: d.status === "added" ? null : { path: d.previousPath ?? d.path, type: "commit_file" },
        new: d.status === "removed" ? null : { path: d.path, type: "commit_file", ...attributesOf(d.mode) },
      }));
      const pagelen = Math.min(Number(req.query.get("pagelen") ?? 500), options.pagelen ?? 500);
      const page = Number(req.query.get("page") ?? 1);
      const values = all.slice((page - 1) * pagelen, page * pagelen);
      const body: Record<string, unknown> = { pagelen, page, size: all.length, values };
      if (page * pagelen < all.length) {
        const next = new URL(`${fake.base}${req.rawPath}`);
        req.query.forEach((v, k) => next.searchParams.set(k, v));
        next.searchParams.set("page", String(page + 1));
        body.next = next.toString();
      }
      return json(res, 200, body);
    }
    if (req.method === "POST" && rest === "/hooks") {
      const body = JSON.parse(req.body);
      const hook = { uuid: `{0000-${nextHook++}}`, url: body.url, secret: body.secret, events: body.events };
      hooks.push(hook);
      return json(res, 201, { uuid: hook.uuid, url: hook.url, active: true, events: hook.events });
    }
    if (req.method === "DELETE" && (m = /^\/hooks\/(.+)$/.exec(rest))) {
      const index = hooks.findIndex((h) => h.uuid === m![1]);
      if (index < 0) return json(res, 404, error("Hook not found"));
      hooks.splice(index, 1);
      res.writeHead(204).end();
      return;
    }
    json(res, 404, error("Resource not found"));
  });
  return {
    ...fake,
    hooks,
    uuid: REPO_UUID,
    /** Renames or transfers the repository: its UUID still answers, its former name is a 404. */
    renameRepo(next: string) {
      fullName = next;
    },
    /**
     * The next `times` matching requests answer as Bitbucket Cloud's rate limiter does: 429 with
     * its JSON error body and no Retry-After or reset time (the limits are a rolling hour);
     * access tokens also get the X-RateLimit-* headers of the scaled limits.
     */
    throttle(match: RegExp, times = 1) {
      fake.inject(match, 429, {
        times,
        body: JSON.stringify(error("Rate limit for this resource has been exceeded")),
        headers: { "x-ratelimit-limit": "1000", "x-ratelimit-resource": "api", "x-ratelimit-nearlimit": "true" },
      });
    },
    /** Bitbucket's 403 for a token without the scope the call needs. */
    forbid(match: RegExp, required = "repository") {
      fake.inject(match, 403, {
        body: JSON.stringify({
          type: "error",
          error: {
            message: "Your credentials lack one or more required privilege scopes.",
            detail: { granted: ["account"], required: [required] },
          },
        }),
      });
    },
  };
}
