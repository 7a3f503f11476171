import { ConnectorConfigError, ConnectorError } from "@/lib/connectors/errors";
import { z } from "zod";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { getCredentialOrThrow, getUsableCredentialOrThrow } from "@/lib/oauth/credentials";
import { createDropboxClient, errorSummary } from "@/lib/connectors/dropbox/client";
import { createDriveClient, googleFailure } from "@/lib/connectors/gdrive/client";
import { FOLDER_MIME } from "@/lib/connectors/gdrive";
import { bitbucketApiUrl } from "@/lib/connectors/git/bitbucket";
import { githubApiUrl } from "@/lib/connectors/git/github";
import { providerFetch } from "@/lib/connectors/git/provider-http";
import { hasDotSegment } from "@/lib/connectors/git/shared";
import { credentialToken } from "@/lib/oauth/provider-token";

// What the connect page lists from a provider before a source exists: the repositories and
// branches an account can read (git hosts), or the folders (Drive, Dropbox). The token is the
// one pasted in the form or a connected account's; it is used for these calls only.

export const browseBody = z
  .object({
    what: z.enum(["repositories", "branches", "folders"]),
    credentialId: z.uuid({ error: "credentialId must be the id of a connected account" }).optional(),
    token: z.string().min(1).optional(),
    /** Bitbucket API tokens go with the Atlassian account email. */
    username: z.string().optional(),
    host: z.url({ protocol: /^https?$/, error: "host must be the http(s) URL of the GitLab instance" }).optional(),
    repo: z.string().optional(),
    /** The folder whose subfolders to list: Drive folder id or Dropbox path; absent: the top. */
    folder: z.string().optional(),
    q: z.string().max(200).optional(),
  })
  .refine((b) => b.what !== "branches" || b.repo, { message: "repo is required to list branches", path: ["repo"] });
export type BrowseBody = z.infer<typeof browseBody>;

export type BrowseItem = { id: string; name: string; detail?: string };

const LIMIT = 100;

async function tokenFor(actor: Actor, type: string, body: BrowseBody): Promise<string> {
  if (body.token) return body.username ? `${body.username}:${body.token}` : body.token;
  if (body.credentialId) {
    const credential = await getCredentialOrThrow(actor, body.credentialId);
    const provider = type === "gdrive" ? "google" : type;
    if (credential.provider !== provider)
      throw new AppError("invalid_config", "That account belongs to another provider.", [
        { path: "credentialId", message: "Pick an account of this provider." },
      ]);
    await getUsableCredentialOrThrow(actor, credential.id, type, { host: body.host });
    return credentialToken(credential.id, { type, host: body.host });
  }
  throw new AppError("invalid_config", "Connect an account or paste a token first.", [
    { path: "token", message: "Connect an account or paste a token first." },
  ]);
}

async function getJson(url: string, headers: Record<string, string>, provider: string): Promise<unknown> {
  const res = await providerFetch(url, {
    headers: { accept: "application/json", "user-agent": "data-connector", ...headers },
  });
  if (res.status === 401 || res.status === 403) {
    throw new AppError(
      "invalid_config",
      `${provider} refused the token (${res.status}). Check that it is valid and may read repositories.`,
      [{ path: "token", message: `${provider} refused this token.` }],
    );
  }
  if (res.status === 404)
    throw new AppError("not_found", `${provider} has no such repository, or the token may not see it.`, [
      { path: "repo", message: "Not found with this token." },
    ]);
  if (!res.ok) throw new AppError("unavailable", `${provider} answered ${res.status}; try again.`);
  return res.json();
}

const matches = (q: string | undefined) => (name: string) => !q || name.toLowerCase().includes(q.toLowerCase());
const seg = (repo: string) => repo.split("/").map(encodeURIComponent).join("/");

async function github(token: string, body: BrowseBody): Promise<BrowseItem[]> {
  const auth = { authorization: `Bearer ${token}` };
  if (body.what === "branches") {
    const rows = z
      .array(z.object({ name: z.string() }))
      .parse(await getJson(`${githubApiUrl()}/repos/${seg(body.repo!)}/branches?per_page=100`, auth, "GitHub"));
    return rows.map((b) => ({ id: b.name, name: b.name })).filter((b) => matches(body.q)(b.name));
  }
  const rows = z
    .array(
      z.object({ full_name: z.string(), description: z.string().nullish(), default_branch: z.string().optional() }),
    )
    .parse(await getJson(`${githubApiUrl()}/user/repos?per_page=100&sort=updated`, auth, "GitHub"));
  return rows
    .filter((r) => matches(body.q)(r.full_name))
    .map((r) => ({ id: r.full_name, name: r.full_name, detail: r.default_branch }));
}

async function gitlab(token: string, body: BrowseBody): Promise<BrowseItem[]> {
  const api = `${(body.host ?? "https://gitlab.com").replace(/\/+$/, "")}/api/v4`;
  const auth = { authorization: `Bearer ${token}` };
  const q = body.q ? `&search=${encodeURIComponent(body.q)}` : "";
  if (body.what === "branches") {
    const rows = z
      .array(z.object({ name: z.string() }))
      .parse(
        await getJson(
          `${api}/projects/${encodeURIComponent(body.repo!)}/repository/branches?per_page=100${q}`,
          auth,
          "GitLab",
        ),
      );
    return rows.map((b) => ({ id: b.name, name: b.name }));
  }
  const rows = z
    .array(z.object({ path_with_namespace: z.string(), default_branch: z.string().nullish() }))
    .parse(
      await getJson(
        `${api}/projects?membership=true&simple=true&order_by=last_activity_at&per_page=100${q}`,
        auth,
        "GitLab",
      ),
    );
  return rows.map((r) => ({
    id: r.path_with_namespace,
    name: r.path_with_namespace,
    detail: r.default_branch ?? undefined,
  }));
}

async function bitbucket(token: string, body: BrowseBody): Promise<BrowseItem[]> {
  const auth = {
    authorization: token.includes(":") ? `Basic ${Buffer.from(token).toString("base64")}` : `Bearer ${token}`,
  };
  const page = <T extends z.ZodType>(item: T) => z.object({ values: z.array(item) });
  if (body.what === "branches") {
    const q = body.q ? `&q=${encodeURIComponent(`name ~ "${body.q.replace(/"/g, "")}"`)}` : "";
    const rows = page(z.object({ name: z.string() })).parse(
      await getJson(
        `${bitbucketApiUrl()}/repositories/${seg(body.repo!)}/refs/branches?pagelen=100${q}`,
        auth,
        "Bitbucket",
      ),
    );
    return rows.values.map((b) => ({ id: b.name, name: b.name }));
  }
  const q = body.q ? `&q=${encodeURIComponent(`full_name ~ "${body.q.replace(/"/g, "")}"`)}` : "";
  const rows = page(z.object({ full_name: z.string(), mainbranch: z.object({ name: z.string() }).nullish() })).parse(
    await getJson(`${bitbucketApiUrl()}/repositories?role=member&pagelen=100&sort=-updated_on${q}`, auth, "Bitbucket"),
  );
  return rows.values.map((r) => ({ id: r.full_name, name: r.full_name, detail: r.mainbranch?.name }));
}

/** A Drive query string literal's content: backslashes and quotes escaped. */
const driveQueryString = (value: string) => value.replace(/\\/g, "\\\\").replace(/'/g, "\\'");

async function gdrive(token: string, body: BrowseBody): Promise<BrowseItem[]> {
  const parent = driveQueryString(body.folder || "root");
  const name = body.q ? ` and name contains '${driveQueryString(body.q)}'` : "";
  try {
    const res = await createDriveClient(token).files.list({
      q: `'${parent}' in parents and mimeType = '${FOLDER_MIME}' and trashed = false${name}`,
      fields: "files(id,name)",
      pageSize: LIMIT,
      orderBy: "name",
      supportsAllDrives: true,
      includeItemsFromAllDrives: true,
    });
    return (res.data.files ?? []).map((f) => ({ id: f.id!, name: f.name ?? f.id! }));
  } catch (err) {
    const failure = googleFailure(err);
    if (failure.status === 401 || failure.status === 403)
      throw new AppError("invalid_config", `Google refused the token: ${failure.message}`, [
        { path: "token", message: "Google refused this token." },
      ]);
    throw new AppError("unavailable", `Google Drive answered: ${failure.message}`);
  }
}

async function dropbox(token: string, body: BrowseBody): Promise<BrowseItem[]> {
  try {
    const res = await createDropboxClient(token).filesListFolder({ path: body.folder ?? "", limit: 2000 });
    return res.result.entries
      .filter((e) => e[".tag"] === "folder" && matches(body.q)(e.name))
      .map((e) => ({ id: e.path_display ?? e.path_lower ?? e.name, name: e.name }));
  } catch (err) {
    const summary = errorSummary(err);
    if (/401|invalid_access_token|expired/i.test(summary))
      throw new AppError("invalid_config", `Dropbox refused the token: ${summary}`, [
        { path: "token", message: "Dropbox refused this token." },
      ]);
    throw new AppError("unavailable", `Dropbox answered: ${summary}`);
  }
}

const BROWSERS: Record<string, (token: string, body: BrowseBody) => Promise<BrowseItem[]>> = {
  github,
  gitlab,
  bitbucket,
  gdrive,
  dropbox,
};

/** Lists repositories, branches or folders of a provider account, at most 100, filtered by `q`. */
export async function browseProvider(actor: Actor, type: string, body: BrowseBody): Promise<{ items: BrowseItem[] }> {
  const browse = BROWSERS[type];
  if (!browse) throw new AppError("bad_request", `Sources of type "${type}" have nothing to browse.`);
  const isGit = type === "github" || type === "gitlab" || type === "bitbucket";
  if (isGit ? body.what === "folders" : body.what !== "folders") {
    throw new AppError(
      "bad_request",
      isGit ? "Git hosts list repositories and branches." : "Drive and Dropbox list folders.",
    );
  }
  if (body.repo !== undefined && hasDotSegment(body.repo))
    throw new AppError("bad_request", "repo must not contain . or .. segments.", [
      { path: "repo", message: "Give the repository as owner/name." },
    ]);
  const token = await tokenFor(actor, type, body);
  try {
    return { items: (await browse(token, body)).slice(0, LIMIT) };
  } catch (err) {
    // A host the guard refuses, or a provider that cannot be reached, is the caller's to fix.
    if (err instanceof ConnectorConfigError)
      throw new AppError("invalid_config", err.message, [{ path: "host", message: err.message }]);
    if (err instanceof ConnectorError) throw new AppError("unavailable", err.message);
    throw err;
  }
}
