import { z } from "zod";
import { AppError } from "@/lib/api/errors";

import { OAUTH_PROVIDERS, providerLabel, type OAuthProvider } from "@/lib/providers";

export { OAUTH_PROVIDERS, providerLabel, type OAuthProvider };

export const oauthProviderParam = z.enum(OAUTH_PROVIDERS, {
  error: `Unknown OAuth provider. Valid providers: ${OAUTH_PROVIDERS.join(", ")}.`,
});

const trim = (url: string) => url.replace(/\/+$/, "");

/** The provider's web host (`GITHUB_URL`, `GITLAB_URL`, ...), where authorize and token endpoints live. */
export function providerWebUrl(provider: "github" | "gitlab" | "bitbucket"): string {
  const defaults = { github: "https://github.com", gitlab: "https://gitlab.com", bitbucket: "https://bitbucket.org" };
  return trim(process.env[`${provider.toUpperCase()}_URL`] || defaults[provider]);
}

export function githubApiUrl(): string {
  return trim(process.env.GITHUB_API_URL || "https://api.github.com");
}

export type ProviderSpec = {
  id: OAuthProvider;
  label: string;
  authorizeUrl: string;
  tokenUrl: string;
  scopes: string[];
  /** Extra authorize parameters: offline access so that a refresh token comes back. */
  authorizeParams: Record<string, string>;
  /** How the client authenticates at the token endpoint. */
  clientAuth: "body" | "basic";
  /** Who the token belongs to, from the provider's API. */
  identityRequest: (accessToken: string) => {
    url: string;
    init: RequestInit;
    parse: (body: unknown) => { accountId: string; accountName: string };
  };
};

const githubUser = z.object({ id: z.union([z.number(), z.string()]), login: z.string() });
const gitlabUser = z.object({ id: z.union([z.number(), z.string()]), username: z.string() });
const bitbucketUser = z.object({
  uuid: z.string(),
  username: z.string().optional(),
  display_name: z.string().optional(),
});
const googleUser = z.object({ sub: z.string(), email: z.string().optional(), name: z.string().optional() });
const dropboxUser = z.object({
  account_id: z.string(),
  email: z.string().optional(),
  name: z.object({ display_name: z.string() }).partial().optional(),
});

/** Endpoints follow the configurable base URLs (GitHub Enterprise Server, self-managed GitLab, fakes in tests). */
export function providerSpec(provider: OAuthProvider): ProviderSpec {
  const bearer = (token: string) => ({
    authorization: `Bearer ${token}`,
    accept: "application/json",
    "user-agent": "data-connector",
  });
  switch (provider) {
    case "github": {
      const web = providerWebUrl("github");
      return {
        id: provider,
        label: providerLabel(provider),
        authorizeUrl: `${web}/login/oauth/authorize`,
        tokenUrl: `${web}/login/oauth/access_token`,
        scopes: ["repo", "admin:repo_hook", "read:user"],
        authorizeParams: {},
        clientAuth: "body",
        identityRequest: (token) => ({
          url: `${githubApiUrl()}/user`,
          init: { headers: bearer(token) },
          parse: (body) => {
            const u = githubUser.parse(body);
            return { accountId: String(u.id), accountName: u.login };
          },
        }),
      };
    }
    case "gitlab": {
      const web = providerWebUrl("gitlab");
      return {
        id: provider,
        label: providerLabel(provider),
        authorizeUrl: `${web}/oauth/authorize`,
        tokenUrl: `${web}/oauth/token`,
        scopes: ["api", "read_user"],
        authorizeParams: {},
        clientAuth: "body",
        identityRequest: (token) => ({
          url: `${web}/api/v4/user`,
          init: { headers: bearer(token) },
          parse: (body) => {
            const u = gitlabUser.parse(body);
            return { accountId: String(u.id), accountName: u.username };
          },
        }),
      };
    }
    case "bitbucket": {
      const web = providerWebUrl("bitbucket");
      return {
        id: provider,
        label: providerLabel(provider),
        authorizeUrl: `${web}/site/oauth2/authorize`,
        tokenUrl: `${web}/site/oauth2/access_token`,
        // Bitbucket takes its scopes from the OAuth consumer's settings, not from the request.
        scopes: [],
        authorizeParams: {},
        clientAuth: "basic",
        identityRequest: (token) => ({
          url: `${trim(process.env.BITBUCKET_API_URL || "https://api.bitbucket.org/2.0")}/user`,
          init: { headers: bearer(token) },
          parse: (body) => {
            const u = bitbucketUser.parse(body);
            return { accountId: u.uuid, accountName: u.username ?? u.display_name ?? u.uuid };
          },
        }),
      };
    }
    case "google": {
      const base = process.env.GOOGLE_OAUTH_URL ? trim(process.env.GOOGLE_OAUTH_URL) : null;
      return {
        id: provider,
        label: providerLabel(provider),
        authorizeUrl: base ? `${base}/o/oauth2/v2/auth` : "https://accounts.google.com/o/oauth2/v2/auth",
        tokenUrl: base ? `${base}/token` : "https://oauth2.googleapis.com/token",
        scopes: ["openid", "email", "https://www.googleapis.com/auth/drive.readonly"],
        // Offline access and a fresh consent, or Google sends no refresh token on a reconnect.
        authorizeParams: { access_type: "offline", prompt: "consent", include_granted_scopes: "true" },
        clientAuth: "body",
        identityRequest: (token) => ({
          url: `${trim(process.env.GOOGLE_API_URL || "https://www.googleapis.com/")}/oauth2/v3/userinfo`,
          init: { headers: bearer(token) },
          parse: (body) => {
            const u = googleUser.parse(body);
            return { accountId: u.sub, accountName: u.email ?? u.name ?? u.sub };
          },
        }),
      };
    }
    case "dropbox": {
      const base = process.env.DROPBOX_OAUTH_URL ? trim(process.env.DROPBOX_OAUTH_URL) : null;
      const api = process.env.DROPBOX_API_URL ? trim(process.env.DROPBOX_API_URL) : "https://api.dropboxapi.com";
      return {
        id: provider,
        label: providerLabel(provider),
        authorizeUrl: base ? `${base}/oauth2/authorize` : "https://www.dropbox.com/oauth2/authorize",
        tokenUrl: base ? `${base}/oauth2/token` : "https://api.dropboxapi.com/oauth2/token",
        scopes: ["account_info.read", "files.metadata.read", "files.content.read"],
        authorizeParams: { token_access_type: "offline" },
        clientAuth: "body",
        identityRequest: (token) => ({
          url: `${api}/2/users/get_current_account`,
          init: { method: "POST", headers: { ...bearer(token), "content-type": "application/json" }, body: "null" },
          parse: (body) => {
            const u = dropboxUser.parse(body);
            return { accountId: u.account_id, accountName: u.email ?? u.name?.display_name ?? u.account_id };
          },
        }),
      };
    }
  }
}

export type OAuthClient = { clientId: string; clientSecret: string };

/** The OAuth app from `<PROVIDER>_CLIENT_ID` / `_CLIENT_SECRET`, or null when it is not configured. */
export function oauthClient(provider: OAuthProvider): OAuthClient | null {
  const prefix = provider.toUpperCase();
  const clientId = process.env[`${prefix}_CLIENT_ID`];
  const clientSecret = process.env[`${prefix}_CLIENT_SECRET`];
  return clientId && clientSecret ? { clientId, clientSecret } : null;
}

export function oauthClientOrThrow(provider: OAuthProvider): OAuthClient {
  const client = oauthClient(provider);
  if (!client) {
    const prefix = provider.toUpperCase();
    throw new AppError(
      "bad_request",
      `${providerLabel(provider)} is not configured: set ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET.`,
    );
  }
  return client;
}
