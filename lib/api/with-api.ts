import { actorForToken, type Actor } from "@/lib/auth/api-tokens";
import { actorForSession } from "@/lib/auth/session";
import { logger } from "@/lib/log";
import { AppError, problemResponse } from "./errors";
import { readBody } from "./read-body";

type RouteContext<P> = { params: Promise<P> };
type Handler<P> = (input: { request: Request; params: P; actor: Actor }) => Promise<Response | unknown>;
type PublicHandler<P> = (input: { request: Request; params: P }) => Promise<Response | unknown>;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A cookie-authenticated request that changes something must come from this app's own pages:
 * browsers send Sec-Fetch-Site and Origin, and another site's form or script is refused.
 */
function assertSameOrigin(request: Request): void {
  if (SAFE_METHODS.has(request.method)) return;
  const site = request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") {
    throw new AppError("forbidden", "Cross-site requests cannot use the dashboard session; use an API token.");
  }
  if (site) return;
  // No Sec-Fetch-Site (an older browser): the Origin must name the host the request was sent to.
  // request.url is not that host behind `next start` (it says localhost for 127.0.0.1 or an IP).
  const origin = request.headers.get("origin");
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  const originHost = origin ? URL.parse(origin)?.host : null;
  if (origin && originHost !== host && origin !== (process.env.APP_URL && new URL(process.env.APP_URL).origin)) {
    throw new AppError("forbidden", "Cross-site requests cannot use the dashboard session; use an API token.");
  }
}

/** Who is asking: a bearer API token, else the dashboard session cookie. Neither is a 401. */
export async function authenticate(request: Request): Promise<Actor> {
  const header = request.headers.get("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError("unauthorized", "The Authorization header must be `Bearer <token>`.");
    const actor = await actorForToken(match[1]!);
    if (!actor) throw new AppError("unauthorized", "The API token is invalid or has been revoked.");
    return actor;
  }
  const actor = await actorForSession(request);
  if (actor) {
    assertSameOrigin(request);
    return actor;
  }
  throw new AppError(
    "unauthorized",
    "Sign in, or send an API token as `Authorization: Bearer <token>`. Create one in Settings or with `npm run cli -- tokens create <name>`.",
  );
}

function toResponse(result: unknown): Response {
  return result instanceof Response ? result : Response.json(result);
}

/** One access-log line per API request (the webhooks, which answer strangers, log none). */
function logAccess(request: Request, response: Response, started: number): Response {
  logger.info(
    {
      method: request.method,
      route: new URL(request.url).pathname,
      status: response.status,
      ms: Math.round(performance.now() - started),
    },
    "api request",
  );
  return response;
}

export type RouteOptions = {
  /** One access-log line per request; off for routes that answer strangers (webhooks). */
  log?: boolean;
  /** Maps an error the route knows (a webhook refusal) to its answer; others are problem+json. */
  answerError?: (err: unknown) => Response | null;
};

/**
 * The one route wrapper: runs the handler, turns its result into a Response (a body is JSON,
 * 200) and any error into problem+json, and logs the request. withApi and withPublicApi (and
 * withWebhook) are this with their options.
 */
export function withRoute<P = Record<string, never>>(handler: PublicHandler<P>, options: RouteOptions = {}) {
  const { log = true, answerError } = options;
  return async (request: Request, context?: RouteContext<P>): Promise<Response> => {
    const started = performance.now();
    let response: Response;
    try {
      const params = (await context?.params) ?? ({} as P);
      response = toResponse(await handler({ request, params }));
    } catch (err) {
      response = answerError?.(err) ?? problemResponse(err);
    }
    return log ? logAccess(request, response, started) : response;
  };
}

/**
 * The wrapper every authenticated route handler uses: who is asking (API token or session),
 * then the handler, then the error mapping.
 */
export function withApi<P = Record<string, never>>(handler: Handler<P>) {
  return withRoute<P>(async ({ request, params }) => handler({ request, params, actor: await authenticate(request) }));
}

/**
 * For the routes open without a session or token (OAuth callbacks, health): the same error
 * mapping, and the handler does its own checks (state).
 */
export function withPublicApi<P = Record<string, never>>(handler: PublicHandler<P>) {
  return withRoute<P>(handler);
}

/** The largest JSON body the API reads. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

const tooLarge = () =>
  new AppError("payload_too_large", "The request body is over 1 MB; send a smaller JSON document.");

/** Reads a JSON body: 415 for another content type, 413 over 1 MB, 400 for malformed JSON. */
export async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new AppError("unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`.");
  }
  const text = (
    await readBody(request, {
      maxBytes: MAX_JSON_BODY_BYTES,
      refuse: (reason) =>
        // Read without a budget or a time limit: too large or a malformed length are the only refusals.
        reason === "too_large"
          ? tooLarge()
          : new AppError("bad_request", "The Content-Length header is not a number of bytes."),
    })
  ).toString("utf8");
  if (text.trim() === "") throw new AppError("invalid_json", "The request body is empty; send a JSON object.");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError("invalid_json", `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The query string as an object; a parameter given more than once becomes an array. */
export function searchParams(request: Request): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URL(request.url).searchParams) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
