import { createHash, randomBytes } from "node:crypto";
import { eq, lt, sql } from "drizzle-orm";
import { AppError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/api-tokens";
import { readCookie } from "@/lib/auth/read-cookie";
import { getDb } from "@/lib/db/client";
import { oauthStates } from "@/lib/db/schema";
import { withTransaction } from "@/lib/db/transaction";
import { saveOAuthCredential } from "./credentials";
import { decryptSecret, encryptSecret } from "./encryption";
import { oauthClientOrThrow, providerSpec, type OAuthProvider } from "./providers";
import { OAuthEndpointError, OAuthGrantError, requestToken } from "./token-endpoint";

export const STATE_TTL_SECONDS = 10 * 60;
/** Names this browser: the callback must come from the browser that started the flow. */
export const BINDING_COOKIE = "dc.oauth-binding";
const DEFAULT_RETURN = "/settings";

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/**
 * A path on this app to go back to, or the settings page. The value is resolved against the
 * app's origin first (so `/..//evil` and `/.%2e//evil`, which normalise to `//evil`, are seen
 * as what they become); only a same-origin path that does not start with `//` or `/\` passes.
 */
export function safeReturnPath(value: string | null | undefined, origin: string): string {
  if (!value || !value.startsWith("/") || /[\s\\]/.test(value)) return DEFAULT_RETURN;
  const url = URL.parse(value, origin);
  if (!url || url.origin !== new URL(origin).origin) return DEFAULT_RETURN;
  const path = url.pathname + url.search;
  return path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\") ? path : DEFAULT_RETURN;
}

/** Where this app is reached: APP_URL (or AUTH_URL) when set, else the request's own origin. */
export function appOrigin(request: Request): string {
  const configured = process.env.APP_URL || process.env.AUTH_URL;
  return configured ? new URL(configured).origin : new URL(request.url).origin;
}

/** Each provider has its own callback (mix-up defence). */
export function callbackUrl(origin: string, provider: OAuthProvider): string {
  return `${origin}/api/oauth/${provider}/callback`;
}

/**
 * Starts a connection: a single-use state (only its hash is stored) bound to this browser's
 * binding cookie, and a PKCE S256 verifier sealed in the state row. Returns the provider URL
 * and the binding cookie to set.
 */
export async function startAuthorization(input: {
  provider: OAuthProvider;
  actor: Actor;
  request: Request;
  returnTo?: string | null;
}): Promise<{ location: string; setCookie: string | null }> {
  const spec = providerSpec(input.provider);
  const client = oauthClientOrThrow(input.provider);
  const existingBinding = readCookie(input.request, BINDING_COOKIE);
  const binding =
    existingBinding && /^[A-Za-z0-9_-]{43}$/.test(existingBinding)
      ? existingBinding
      : randomBytes(32).toString("base64url");
  const state = randomBytes(32).toString("base64url");
  const verifier = randomBytes(48).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const redirectUri = callbackUrl(appOrigin(input.request), input.provider);
  const stateHash = sha256(state);

  const db = getDb();
  await db.delete(oauthStates).where(lt(oauthStates.expiresAt, new Date()));
  await db.insert(oauthStates).values({
    stateHash,
    provider: input.provider,
    userId: input.actor.userId,
    bindingHash: sha256(binding),
    codeVerifier: encryptSecret(verifier, `oauth_states:${stateHash}`),
    redirectUri,
    returnTo: safeReturnPath(input.returnTo, appOrigin(input.request)),
    expiresAt: new Date(Date.now() + STATE_TTL_SECONDS * 1000),
  });

  const url = new URL(spec.authorizeUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", client.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  if (spec.scopes.length > 0) url.searchParams.set("scope", spec.scopes.join(" "));
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  for (const [k, v] of Object.entries(spec.authorizeParams)) url.searchParams.set(k, v);

  const secure = appOrigin(input.request).startsWith("https:");
  const setCookie =
    binding === existingBinding
      ? null
      : `${BINDING_COOKIE}=${binding}; Path=/api/oauth; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
  return { location: url.toString(), setCookie };
}

export type CallbackOutcome =
  { kind: "connected"; location: string; credentialId: string } | { kind: "provider_error"; location: string };

const badState = (why: string) =>
  new AppError("bad_request", `This connection attempt is not valid (${why}). Start again from the settings page.`);

/**
 * Finishes a connection. The state is consumed first (deleted, single use); a missing, reused,
 * expired, foreign or other-provider state is a 400 and nothing is stored. A provider error
 * (`access_denied`) goes back to the page with the error; a refused code (PKCE mismatch,
 * reused code) is a 400 and nothing is stored.
 */
export async function completeAuthorization(input: {
  provider: OAuthProvider;
  request: Request;
  /** The signed-in user of this browser, if any: it must be the one who started the flow. */
  sessionUserId: string | null;
}): Promise<CallbackOutcome> {
  const params = new URL(input.request.url).searchParams;
  const state = params.get("state");
  if (!state) throw badState("no state");
  const stateHash = sha256(state);
  const [row] = await getDb().delete(oauthStates).where(eq(oauthStates.stateHash, stateHash)).returning();
  if (!row) throw badState("unknown or already used state");
  if (row.provider !== input.provider) throw badState(`the state was issued for ${row.provider}`);
  if (row.expiresAt.getTime() < Date.now()) throw badState("the state has expired");
  const binding = readCookie(input.request, BINDING_COOKIE);
  if (!binding || sha256(binding) !== row.bindingHash) throw badState("it was started in another browser");
  if (input.sessionUserId && row.userId && input.sessionUserId !== row.userId)
    throw badState("it was started by another user");

  const origin = new URL(row.redirectUri).origin;
  const back = (extra: Record<string, string>) => {
    const url = new URL(safeReturnPath(row.returnTo, origin), origin);
    for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
    return url.toString();
  };

  const providerError = params.get("error");
  if (providerError) {
    return {
      kind: "provider_error",
      location: back({ oauth_error: providerError.slice(0, 100), provider: input.provider }),
    };
  }
  const code = params.get("code");
  if (!code) throw badState("the provider sent no code");

  const spec = providerSpec(input.provider);
  const client = oauthClientOrThrow(input.provider);
  const verifier = decryptSecret(row.codeVerifier, `oauth_states:${row.stateHash}`);
  let tokens;
  try {
    tokens = await requestToken(spec, client, {
      grant_type: "authorization_code",
      code,
      redirect_uri: row.redirectUri,
      code_verifier: verifier,
    });
  } catch (err) {
    if (err instanceof OAuthGrantError) throw new AppError("bad_request", `${err.message} Start the connection again.`);
    if (err instanceof OAuthEndpointError)
      throw new AppError(err.retryable ? "unavailable" : "bad_request", err.message);
    throw err;
  }
  const identity = await fetchIdentity(spec, tokens.accessToken);
  const credential = await withTransaction((tx) =>
    saveOAuthCredential(tx, { userId: row.userId, provider: input.provider, ...identity, tokens }),
  );
  return { kind: "connected", location: back({ connected: input.provider }), credentialId: credential.id };
}

async function fetchIdentity(spec: ReturnType<typeof providerSpec>, accessToken: string) {
  const req = spec.identityRequest(accessToken);
  let response: Response;
  try {
    response = await fetch(req.url, { ...req.init, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new AppError(
      "unavailable",
      `${spec.label} could not be reached to identify the account (${(err as Error).name}).`,
    );
  }
  if (!response.ok)
    throw new AppError(
      "bad_request",
      `${spec.label} did not accept the new token to identify the account (HTTP ${response.status}).`,
    );
  try {
    return req.parse(await response.json());
  } catch {
    throw new AppError("bad_request", `${spec.label} answered the account request in an unexpected shape.`);
  }
}

/** Drops states past their expiry (the authorize route also does on each start). */
export async function pruneOAuthStates(): Promise<void> {
  await getDb().execute(sql`delete from oauth_states where expires_at < now()`);
}
