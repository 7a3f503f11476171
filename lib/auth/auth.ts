import NextAuth, { CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import GitHub from "next-auth/providers/github";
import GitLab from "next-auth/providers/gitlab";
import Google from "next-auth/providers/google";
import { githubApiUrl, providerWebUrl } from "@/lib/oauth/providers";
import { configuredSignInProviders, userForOAuthSignIn } from "./oauth-sign-in";
import { authSecrets } from "./secret";
import { isSessionLive, newSessionClaims, secureCookies, sessionCookieName, sessionMaxAge } from "./session";
import { clientAddress } from "./client-address";
import { signInWithPassword } from "./sign-in";
import { logger } from "@/lib/log";

/** Shown on the sign-in page as `?error=CredentialsSignin&code=rate_limited`. */
class RateLimitedSignIn extends CredentialsSignin {
  code = "rate_limited";
}
class InvalidSignIn extends CredentialsSignin {
  code = "invalid";
}

function oauthProviders(): NextAuthConfig["providers"] {
  const enabled = configuredSignInProviders();
  const providers: NextAuthConfig["providers"] = [];
  if (enabled.includes("github")) {
    const base = providerWebUrl("github");
    const api = githubApiUrl();
    providers.push(
      GitHub({
        clientId: process.env.GITHUB_CLIENT_ID,
        clientSecret: process.env.GITHUB_CLIENT_SECRET,
        authorization: { url: `${base}/login/oauth/authorize`, params: { scope: "read:user user:email" } },
        token: `${base}/login/oauth/access_token`,
        userinfo: {
          url: `${api}/user`,
          // The primary address only when GitHub has verified it (the public one may not be).
          async request({ tokens }: { tokens: { access_token?: string } }) {
            const headers = {
              authorization: `Bearer ${tokens.access_token}`,
              "user-agent": "data-connector",
              accept: "application/vnd.github+json",
            };
            const profile = (await (await fetch(`${api}/user`, { headers })).json()) as Record<string, unknown>;
            const res = await fetch(`${api}/user/emails`, { headers });
            const emails = res.ok
              ? ((await res.json()) as { email: string; primary: boolean; verified: boolean }[])
              : [];
            return { ...profile, verified_email: emails.find((e) => e.primary && e.verified)?.email ?? null };
          },
        },
      }),
    );
  }
  if (enabled.includes("gitlab")) {
    providers.push(
      GitLab({
        clientId: process.env.GITLAB_CLIENT_ID,
        clientSecret: process.env.GITLAB_CLIENT_SECRET,
        baseUrl: providerWebUrl("gitlab"),
      }),
    );
  }
  if (enabled.includes("google")) {
    providers.push(
      Google({
        clientId: process.env.GOOGLE_CLIENT_ID,
        clientSecret: process.env.GOOGLE_CLIENT_SECRET,
        ...(process.env.GOOGLE_OAUTH_URL ? { issuer: process.env.GOOGLE_OAUTH_URL.replace(/\/+$/, "") } : {}),
      }),
    );
  }
  return providers;
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => ({
  secret: authSecrets(),
  trustHost: true,
  session: { strategy: "jwt", maxAge: sessionMaxAge(), updateAge: 0 },
  useSecureCookies: secureCookies(),
  cookies: {
    sessionToken: {
      name: sessionCookieName(),
      options: { httpOnly: true, sameSite: "lax", path: "/", secure: secureCookies() },
    },
  },
  pages: { signIn: "/sign-in", error: "/sign-in" },
  // Never log a token, a code or a profile: only the error's name. An unreadable session cookie
  // (expired key, garbage sent by anyone) is routine and not logged, so it cannot flood the log.
  logger: {
    error: (error) => {
      const type = (error as { type?: string }).type ?? error.name;
      if (type !== "JWTSessionError") logger.error({ type, message: error.message.split("\n")[0] }, "auth error");
    },
    warn: (code) => logger.warn({ code }, "auth warning"),
    debug: () => {},
  },
  providers: [
    Credentials({
      credentials: { email: { type: "email" }, password: { type: "password" } },
      async authorize(credentials, request) {
        const email = typeof credentials?.email === "string" ? credentials.email : "";
        const password = typeof credentials?.password === "string" ? credentials.password : "";
        if (!email || !password) throw new InvalidSignIn();
        const result = await signInWithPassword({ email, password, address: clientAddress(request.headers) });
        if (result.ok) return { id: result.user.id, email: result.user.email, name: result.user.name };
        throw result.reason === "rate_limited" ? new RateLimitedSignIn() : new InvalidSignIn();
      },
    }),
    ...oauthProviders(),
  ],
  callbacks: {
    async signIn({ account, profile }) {
      if (!account || account.provider === "credentials") return true;
      return (await userForOAuthSignIn(account.provider, profile as Record<string, unknown>)) !== null;
    },
    async jwt({ token, user, account, profile }) {
      // The session always carries our user id, whichever way the user signed in.
      if (account && account.provider !== "credentials") {
        const signedIn = await userForOAuthSignIn(account.provider, profile as Record<string, unknown>);
        token.sub = signedIn?.id;
        token.email = signedIn?.email;
      }
      // `user` is only given at sign-in: the session id and start every later refresh carries.
      if (user) Object.assign(token, newSessionClaims());
      // null ends the session: next-auth clears the cookie instead of re-issuing it.
      return (await isSessionLive(token)) ? token : null;
    },
    session({ session, token }) {
      if (token.sub) session.user.id = token.sub;
      // The session's id and start, so that sign-out can revoke it on the server.
      Object.assign(session, { sid: token.sid, signedInAt: token.signedInAt });
      return session;
    },
  },
}));
