// Provider facts the server and the browser share: the source types, the OAuth providers that
// serve them, and their names for people. No imports and nothing secret, so any component may
// import it.

export const SOURCE_TYPES = ["github", "gitlab", "bitbucket", "gdrive", "dropbox", "local"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Source types that are git repositories (a repository and a branch, push webhooks). */
export const GIT_SOURCE_TYPES = ["github", "gitlab", "bitbucket"] as const satisfies readonly SourceType[];

export const OAUTH_PROVIDERS = ["github", "gitlab", "bitbucket", "google", "dropbox"] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

const SOURCE_TYPE_LABELS: Record<SourceType, string> = {
  local: "Local folder",
  github: "GitHub",
  gitlab: "GitLab",
  bitbucket: "Bitbucket",
  gdrive: "Google Drive",
  dropbox: "Dropbox",
};

const OAUTH_PROVIDER_LABELS: Record<OAuthProvider, string> = {
  github: "GitHub",
  gitlab: "GitLab",
  bitbucket: "Bitbucket",
  google: "Google Drive",
  dropbox: "Dropbox",
};

/** Which OAuth provider's accounts and tokens a source type uses; none for local folders. */
const OAUTH_PROVIDER_OF: Record<SourceType, OAuthProvider | null> = {
  github: "github",
  gitlab: "gitlab",
  bitbucket: "bitbucket",
  gdrive: "google",
  dropbox: "dropbox",
  local: null,
};

export function isSourceType(value: string): value is SourceType {
  return (SOURCE_TYPES as readonly string[]).includes(value);
}

export function isGitSourceType(value: string): value is (typeof GIT_SOURCE_TYPES)[number] {
  return (GIT_SOURCE_TYPES as readonly string[]).includes(value);
}

/** The OAuth provider whose credentials a source of this type uses (`gdrive` → `google`). */
export function oauthProviderFor(type: string): OAuthProvider | null {
  return isSourceType(type) ? OAUTH_PROVIDER_OF[type] : null;
}

/** A source type's name for people ("Google Drive"); an unknown type as it is. */
export function sourceTypeLabel(type: string): string {
  return isSourceType(type) ? SOURCE_TYPE_LABELS[type] : type;
}

/** An OAuth provider's name for people; an unknown provider as it is. */
export function providerLabel(provider: string): string {
  return OAUTH_PROVIDER_LABELS[provider as OAuthProvider] ?? provider;
}
