import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import { NextRequest } from "next/server";
import { decode } from "next-auth/jwt";
import * as authRoute from "@/app/api/auth/[...nextauth]/route";
import * as sourcesRoute from "@/app/api/sources/route";
import { revokeSession } from "@/lib/auth/revoked-sessions";
import { authSecrets } from "@/lib/auth/secret";
import { encodeSessionCookie, sessionCookieName, sessionMaxAge } from "@/lib/auth/session";
import { call, closeAll, resetDb, signedInUser } from "./helpers";

const ORIGIN = "http://localhost";

/** `name=value` of the session cookie a next-auth response sets, or null when it clears it. */
function sessionCookieSet(response: Response): string | null {
  const name = sessionCookieName();
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    if (pair!.startsWith(`${name}=`)) return pair!.length > name.length + 1 ? pair! : null;
  }
  return null;
}

/** GET /api/auth/session with a cookie, as the dashboard's client does: the session and the re-issued cookie. */
async function refresh(cookie: string) {
  const response = await authRoute.GET(new NextRequest(`${ORIGIN}/api/auth/session`, { headers: { cookie } }));
  return { session: (await response.json()) as { user?: unknown } | null, cookie: sessionCookieSet(response) };
}

async function claimsOf(cookie: string) {
  return (await decode({
    token: cookie.slice(cookie.indexOf("=") + 1),
    secret: authSecrets(),
    salt: sessionCookieName(),
  }))!;
}

/** Signs in through next-auth's credentials callback (CSRF token and all) and returns the session cookie. */
async function signInThroughNextAuth(email: string, password: string): Promise<string | null> {
  const csrf = await authRoute.GET(new NextRequest(`${ORIGIN}/api/auth/csrf`));
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const csrfCookie = csrf.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .join("; ");
  const response = await authRoute.POST(
    new NextRequest(`${ORIGIN}/api/auth/callback/credentials`, {
      method: "POST",
      headers: { cookie: csrfCookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${ORIGIN}/` }).toString(),
    }),
  );
  return sessionCookieSet(response);
}

describe("sessions: one id per sign-in, revoked by it, ended SESSION_MAX_AGE after the sign-in", () => {
  beforeEach(() => resetDb());
  after(() => closeAll());

  test("a sign-in gives its token a session id and sign-in time that every refresh carries", async () => {
    const user = await signedInUser("s1@example.com");
    const cookie = await signInThroughNextAuth(user.email, "a long test password");
    assert.ok(cookie, "the credentials sign-in sets a session cookie");
    const claims = await claimsOf(cookie);
    assert.equal(typeof claims.sid, "string");
    assert.equal(typeof claims.signedInAt, "number");

    const refreshed = await refresh(cookie);
    assert.ok(refreshed.session?.user, "the session answers");
    assert.ok(refreshed.cookie, "and is re-issued");
    const again = await claimsOf(refreshed.cookie);
    assert.notEqual(again.jti, claims.jti, "next-auth gives the re-issued token a new jti");
    assert.equal(again.sid, claims.sid);
    assert.equal(again.signedInAt, claims.signedInAt);
  });

  test("a copied cookie refreshed through /api/auth/session is refused after sign-out", async () => {
    const user = await signedInUser("s2@example.com");
    const copy = await refresh(user.cookie);
    assert.ok(copy.cookie);
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: copy.cookie })).status, 200);

    // The owner signs out with the original cookie.
    await revokeSession(await claimsOf(user.cookie), sessionMaxAge());

    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: copy.cookie })).status, 401);
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: user.cookie })).status, 401);
    const afterSignOut = await refresh(copy.cookie);
    assert.equal(afterSignOut.session, null, "/api/auth/session no longer answers for it");
    assert.equal(afterSignOut.cookie, null, "nor re-issues it");

    const other = await signedInUser("s3@example.com");
    assert.equal(
      (await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: other.cookie })).status,
      200,
      "only that session is signed out",
    );
  });

  test("a session older than SESSION_MAX_AGE since sign-in is refused, however recently it was refreshed", async () => {
    const user = await signedInUser("s4@example.com");
    const signedInAt = Math.floor(Date.now() / 1000) - sessionMaxAge() + 2;
    // Nearly at its end: refreshing re-issues it with a fresh exp, but not a fresh start.
    const old = await encodeSessionCookie(user, sessionMaxAge(), { signedInAt });
    const refreshed = await refresh(old);
    assert.ok(refreshed.cookie);
    assert.equal((await claimsOf(refreshed.cookie)).signedInAt, signedInAt);

    const ended = await encodeSessionCookie(user, sessionMaxAge(), { signedInAt: signedInAt - 3 });
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: ended })).status, 401);
    assert.equal((await refresh(ended)).session, null);

    // A token without a session id (made before sessions had one) is refused too.
    const legacy = await encodeSessionCookie(user, sessionMaxAge(), { sid: undefined as unknown as string });
    assert.equal((await call(sourcesRoute.GET, "GET", "/api/sources", { cookie: legacy })).status, 401);
  });
});
