import { apiFetch } from "@/lib/client/api";
import type { CredentialDto } from "@/lib/oauth/schemas";
import { isGitSourceType, oauthProviderFor, type SourceType } from "@/lib/providers";
import type { BrowseItem } from "@/lib/sources/schemas";

/** The account a provider source reads as: a connected one (`credentialId`) or a pasted token. */
export type AccountChoice = { credentialId: string | null; token: string; username: string; host: string };

/** What a source of this type reads: a repository and branch (git hosts) or a folder path (Drive, Dropbox). */
export type TargetChoice = { repo: string; branch: string; folders: BrowseItem[] };

export const NO_TARGET: TargetChoice = { repo: "", branch: "", folders: [] };

/** The caller's usable accounts for this source type. */
export function accountsFor(type: SourceType, credentials: CredentialDto[]): CredentialDto[] {
  const provider = oauthProviderFor(type);
  return credentials.filter((c) => c.provider === provider && c.status !== "needs_reauth");
}

/** The first usable account, else a token to paste. */
export function initialAccount(type: SourceType, credentials: CredentialDto[]): AccountChoice {
  return { credentialId: accountsFor(type, credentials)[0]?.id ?? null, token: "", username: "", host: "" };
}

/** How the browse endpoint acts as this account; null while no token is typed. */
export function browseAuth(type: SourceType, account: AccountChoice): Record<string, unknown> | null {
  const auth = account.credentialId
    ? { credentialId: account.credentialId }
    : account.token
      ? { token: account.token, ...(type === "bitbucket" && account.username ? { username: account.username } : {}) }
      : null;
  if (!auth) return null;
  return { ...auth, ...(type === "gitlab" && account.host ? { host: account.host } : {}) };
}

export function browse(type: SourceType, auth: Record<string, unknown>, body: Record<string, unknown>) {
  return apiFetch<{ items: BrowseItem[] }>(`/api/providers/${type}/browse`, {
    method: "POST",
    body: { ...auth, ...body },
  });
}

/** The source config the account and the target make. */
export function providerConfig(
  type: SourceType,
  account: AccountChoice,
  target: TargetChoice,
): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (account.credentialId) config.credentialId = account.credentialId;
  else if (account.token)
    config.token = type === "bitbucket" && account.username ? `${account.username}:${account.token}` : account.token;
  if (type === "gitlab" && account.host) config.host = account.host;
  const folder = target.folders.at(-1);
  if (isGitSourceType(type)) {
    if (target.repo) config.repo = target.repo;
    if (target.branch) config.branch = target.branch;
  } else if (type === "gdrive") {
    if (folder) config.folderId = folder.id;
  } else config.path = folder?.id ?? "";
  return config;
}

/** The name to suggest for the source: the repository, or the folder. */
export function suggestedName(type: SourceType, target: TargetChoice): string {
  if (isGitSourceType(type)) return target.repo;
  return target.folders.at(-1)?.name ?? (type === "gdrive" ? "My Drive" : "Dropbox");
}
