import { getDb } from "@/lib/db/client";
import { actorForToken, type Actor } from "@/lib/auth/api-tokens";
import { AppError, problemResponse } from "./errors";

type RouteContext<P> = { params: Promise<P> };
type Handler<P> = (input: { request: Request; params: P; actor: Actor }) => Promise<Response | unknown>;

async function authenticate(request: Request): Promise<Actor> {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) {
    throw new AppError(
      "unauthorized",
      "Send an API token as `Authorization: Bearer <token>`. Create one with `npm run cli -- tokens create <name>`.",
    );
  }
  const actor = await actorForToken(getDb(), match[1]!);
  if (!actor) throw new AppError("unauthorized", "The API token is invalid or has been revoked.");
  return actor;
}

/**
 * The one wrapper every authenticated route handler uses: who is asking, then the handler,
 * then the error mapping. A handler returns a Response or a JSON-serialisable body (200).
 */
export function withApi<P = Record<string, never>>(handler: Handler<P>) {
  return async (request: Request, context: RouteContext<P>): Promise<Response> => {
    try {
      const actor = await authenticate(request);
      const params = (await context.params) ?? ({} as P);
      const result = await handler({ request, params, actor });
      return result instanceof Response ? result : Response.json(result);
    } catch (err) {
      return problemResponse(err);
    }
  };
}

/** Reads a JSON body: 415 for another content type, 400 for malformed JSON. */
export async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new AppError("unsupported_media_type", "Send the body as JSON with `Content-Type: application/json`.");
  }
  const text = await request.text();
  if (text.trim() === "") throw new AppError("invalid_json", "The request body is empty; send a JSON object.");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError("invalid_json", `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function searchParams(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams);
}
