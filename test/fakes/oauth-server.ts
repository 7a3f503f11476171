import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeProvider = "github" | "gitlab" | "bitbucket" | "google" | "dropbox";

/**
 * One loopback server speaking the OAuth wire formats of GitHub, GitLab, Bitbucket, Google and
 * Dropbox under a path prefix each (`/github`, `/gitlab`, ...), plus each one's "who am I"
 * endpoint under `/<provider>-api`:
 * - authorize: checks client_id, redirect_uri and PKCE S256, "approves" at once (or denies when
 *   `deny` is set) and redirects back with `code` and `state`;
 * - token: authorization_code (PKCE verified, code single-use, redirect_uri must match) and
 *   refresh_token grants. GitHub answers errors as 200 `{error: "bad_verification_code"}`, the
 *   others 400 `{error: "invalid_grant"}`; Bitbucket wants the client in HTTP Basic.
 * - refresh tokens rotate for GitHub (expiring user tokens), GitLab and Bitbucket: the old one
 *   is void after use, as on the real services. Google and Dropbox keep theirs.
 */
export async function startOAuthFake() {
  const clients: Record<FakeProvider, { id: string; secret: string }> = {
    github: { id: "gh-client", secret: "gh-secret" },
    gitlab: { id: "gl-client", secret: "gl-secret" },
    bitbucket: { id: "bb-client", secret: "bb-secret" },
    google: { id: "go-client", secret: "go-secret" },
    dropbox: { id: "db-client", secret: "db-secret" },
  };
  const rotates: Record<FakeProvider, boolean> = {
    github: true,
    gitlab: true,
    bitbucket: true,
    google: false,
    dropbox: false,
  };
  const codes = new Map<string, { provider: FakeProvider; redirectUri: string; challenge: string; used: boolean }>();
  const refreshTokens = new Map<string, { provider: FakeProvider; live: boolean }>();
  const accessTokens = new Map<string, FakeProvider>();
  const calls: { provider: FakeProvider; grant: string; ok: boolean }[] = [];
  const settings = {
    deny: false,
    refreshDelayMs: 0,
    expiresIn: 3600 as number | null,
    githubExpiring: true,
    failRefreshWith: null as null | number,
  };

  const issueTokens = (provider: FakeProvider) => {
    const access = `${provider}-at-${randomBytes(12).toString("hex")}`;
    accessTokens.set(access, provider);
    const withRefresh = provider !== "github" || settings.githubExpiring;
    const refresh = withRefresh ? `${provider}-rt-${randomBytes(12).toString("hex")}` : undefined;
    if (refresh) refreshTokens.set(refresh, { provider, live: true });
    const expires = withRefresh && settings.expiresIn !== null ? { expires_in: settings.expiresIn } : {};
    switch (provider) {
      case "github":
        return {
          access_token: access,
          token_type: "bearer",
          scope: "repo,admin:repo_hook,read:user",
          ...(refresh ? { refresh_token: refresh, refresh_token_expires_in: 15_811_200 } : {}),
          ...expires,
        };
      case "gitlab":
        return {
          access_token: access,
          token_type: "Bearer",
          refresh_token: refresh,
          scope: "api read_user",
          created_at: Math.floor(Date.now() / 1000),
          ...expires,
        };
      case "bitbucket":
        return {
          access_token: access,
          token_type: "bearer",
          refresh_token: refresh,
          scopes: "repository webhook",
          state: "authorization_code",
          ...expires,
        };
      case "google":
        return {
          access_token: access,
          token_type: "Bearer",
          refresh_token: refresh,
          scope: "openid email https://www.googleapis.com/auth/drive.readonly",
          id_token: "x.y.z",
          ...expires,
        };
      case "dropbox":
        return {
          access_token: access,
          token_type: "bearer",
          refresh_token: refresh,
          scope: "account_info.read files.content.read files.metadata.read",
          account_id: "dbid:AAA",
          uid: "12345",
          ...expires,
        };
    }
  };

  const grantError = (provider: FakeProvider, res: ServerResponse, description: string, refresh = false) => {
    if (provider === "github") {
      // GitHub: HTTP 200 with an error body.
      json(res, 200, {
        error: refresh ? "bad_refresh_token" : "bad_verification_code",
        error_description: description,
        error_uri: "https://docs.github.com",
      });
    } else {
      json(res, 400, { error: "invalid_grant", error_description: description });
    }
  };

  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => void handle(req, res, raw).catch((err) => json(res, 500, { error: String(err) })));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string) {
    const url = new URL(req.url ?? "/", "http://fake");
    const [, prefix, ...rest] = url.pathname.split("/");
    const route = "/" + rest.join("/");
    // GitLab serves its API on the same host as OAuth (`/api/v4/user`); the others on an API host.
    const isApi = prefix!.endsWith("-api") || (prefix === "gitlab" && route === "/api/v4/user");
    const provider = prefix!.replace(/-api$/, "") as FakeProvider;
    if (!(provider in clients)) return json(res, 404, { message: "Not Found" });

    if (isApi) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!token || accessTokens.get(token) !== provider) return json(res, 401, { message: "Bad credentials" });
      const identities: Record<FakeProvider, unknown> = {
        github: { id: 583231, login: "octocat" },
        gitlab: { id: 42, username: "tanuki" },
        bitbucket: {
          uuid: "{b7b2d8e4-1111-2222-3333-444455556666}",
          username: "bucketeer",
          display_name: "Bucket Eer",
        },
        google: { sub: "1098765", email: "drive.user@example.com", email_verified: true },
        dropbox: { account_id: "dbid:AAA", email: "box@example.com", name: { display_name: "Box User" } },
      };
      return json(res, 200, identities[provider]);
    }

    const client = clients[provider];
    const authorizePaths = {
      github: "/login/oauth/authorize",
      gitlab: "/oauth/authorize",
      bitbucket: "/site/oauth2/authorize",
      google: "/o/oauth2/v2/auth",
      dropbox: "/oauth2/authorize",
    };
    const tokenPaths = {
      github: "/login/oauth/access_token",
      gitlab: "/oauth/token",
      bitbucket: "/site/oauth2/access_token",
      google: "/token",
      dropbox: "/oauth2/token",
    };

    if (req.method === "GET" && route === authorizePaths[provider]) {
      const q = url.searchParams;
      if (q.get("client_id") !== client.id) return json(res, 400, { error: "invalid_client" });
      if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge"))
        return json(res, 400, { error: "invalid_request", error_description: "PKCE S256 required" });
      const back = new URL(q.get("redirect_uri")!);
      back.searchParams.set("state", q.get("state") ?? "");
      if (settings.deny) {
        back.searchParams.set("error", "access_denied");
        back.searchParams.set("error_description", "The user denied access");
      } else {
        const code = randomBytes(10).toString("hex");
        codes.set(code, {
          provider,
          redirectUri: q.get("redirect_uri")!,
          challenge: q.get("code_challenge")!,
          used: false,
        });
        back.searchParams.set("code", code);
      }
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }

    if (req.method === "POST" && route === tokenPaths[provider]) {
      const form = new URLSearchParams(raw);
      let id = form.get("client_id");
      let secret = form.get("client_secret");
      if (provider === "bitbucket") {
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        [id, secret] = basic
          ? Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent)
          : [null, null];
      }
      if (id !== client.id || secret !== client.secret)
        return json(res, 401, { error: "invalid_client", error_description: "Client authentication failed" });
      const grant = form.get("grant_type") ?? "";
      if (grant === "authorization_code") {
        const entry = codes.get(form.get("code") ?? "");
        const ok =
          entry &&
          entry.provider === provider &&
          !entry.used &&
          entry.redirectUri === form.get("redirect_uri") &&
          createHash("sha256")
            .update(form.get("code_verifier") ?? "")
            .digest("base64url") === entry.challenge;
        calls.push({ provider, grant, ok: Boolean(ok) });
        if (entry) entry.used = true;
        if (!ok) return grantError(provider, res, "The code is invalid, used, or does not match the code_verifier.");
        return json(res, 200, issueTokens(provider));
      }
      if (grant === "refresh_token") {
        if (settings.refreshDelayMs) await new Promise((r) => setTimeout(r, settings.refreshDelayMs));
        if (settings.failRefreshWith) return json(res, settings.failRefreshWith, { error: "server_error" });
        const entry = refreshTokens.get(form.get("refresh_token") ?? "");
        const ok = entry && entry.provider === provider && entry.live;
        calls.push({ provider, grant, ok: Boolean(ok) });
        if (!ok) return grantError(provider, res, "The refresh token is invalid or has been revoked.", true);
        const body = issueTokens(provider) as Record<string, unknown>;
        if (rotates[provider]) entry.live = false;
        else {
          refreshTokens.delete(body.refresh_token as string);
          delete body.refresh_token;
        }
        return json(res, 200, body);
      }
      return json(res, 400, { error: "unsupported_grant_type" });
    }
    json(res, 404, { message: "Not Found" });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env: Record<string, string> = {
    GITHUB_URL: `${base}/github`,
    GITHUB_API_URL: `${base}/github-api`,
    GITLAB_URL: `${base}/gitlab`,
    BITBUCKET_URL: `${base}/bitbucket`,
    BITBUCKET_API_URL: `${base}/bitbucket-api`,
    GOOGLE_OAUTH_URL: `${base}/google`,
    GOOGLE_API_URL: `${base}/google-api/`,
    DROPBOX_OAUTH_URL: `${base}/dropbox`,
    DROPBOX_API_URL: `${base}/dropbox-api`,
  };
  for (const [p, c] of Object.entries(clients)) {
    env[`${p.toUpperCase()}_CLIENT_ID`] = c.id;
    env[`${p.toUpperCase()}_CLIENT_SECRET`] = c.secret;
  }
  return {
    base,
    env,
    calls,
    settings,
    /** Issues a live refresh token directly (a credential "connected earlier"). */
    issueRefreshToken(provider: FakeProvider): string {
      const token = `${provider}-rt-${randomBytes(12).toString("hex")}`;
      refreshTokens.set(token, { provider, live: true });
      return token;
    },
    revokeRefreshToken(token: string) {
      const entry = refreshTokens.get(token);
      if (entry) entry.live = false;
    },
    isLiveAccessToken: (token: string) => accessTokens.has(token),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
}
