import { providerWebUrl } from "@/lib/oauth/providers";

const trim = (url: string) => url.replace(/\/+$/, "");
/** A path as URL segments: each one escaped, the slashes kept. */
const segments = (path: string) => path.split("/").filter(Boolean).map(encodeURIComponent).join("/");
const COMMIT = /^[0-9a-f]{7,64}$/i;

/**
 * Where a person opens an indexed file at its provider: GitHub, GitLab and Bitbucket show the
 * blob at the commit the source last indexed (its cursor), Drive the file's view page by its id,
 * Dropbox the preview of its full path. Null when there is no such page (local folders, a git
 * source with no indexed commit yet, a Drive file without its id).
 */
export function providerFileUrl(
  source: { type: string; config: Record<string, unknown>; cursor: string | null },
  file: { path: string; providerId: string | null },
): string | null {
  const repo = typeof source.config.repo === "string" ? segments(source.config.repo) : "";
  const sha = source.cursor && COMMIT.test(source.cursor) ? source.cursor : null;
  const path = segments(file.path);
  switch (source.type) {
    case "github":
      return repo && sha ? `${providerWebUrl("github")}/${repo}/blob/${sha}/${path}` : null;
    case "gitlab": {
      const host =
        typeof source.config.host === "string" && source.config.host ? source.config.host : "https://gitlab.com";
      return repo && sha ? `${trim(host)}/${repo}/-/blob/${sha}/${path}` : null;
    }
    case "bitbucket":
      return repo && sha ? `https://bitbucket.org/${repo}/src/${sha}/${path}` : null;
    case "gdrive":
      return file.providerId ? `https://drive.google.com/file/d/${encodeURIComponent(file.providerId)}/view` : null;
    case "dropbox": {
      const root = typeof source.config.path === "string" ? source.config.path : "";
      return `https://www.dropbox.com/preview/${segments(`${root}/${file.path}`)}`;
    }
    default:
      return null;
  }
}
