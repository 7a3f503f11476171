import { AppError, problemResponse } from "./errors";

/** Provider payloads larger than this are refused before they are read into memory twice. */
export const MAX_NOTIFICATION_BODY = 1024 * 1024;

/**
 * The wrapper of provider-facing webhook routes: no session or API token (the provider proves
 * itself by signature or channel token instead), the same problem+json error mapping.
 */
export function withWebhook(handler: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    try {
      return await handler(request);
    } catch (err) {
      return problemResponse(err);
    }
  };
}

/** The raw body, exactly as signed. */
export async function readRawBody(request: Request): Promise<string> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_NOTIFICATION_BODY)
    throw new AppError("payload_too_large", `Webhook bodies are limited to ${MAX_NOTIFICATION_BODY} bytes.`);
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_NOTIFICATION_BODY)
    throw new AppError("payload_too_large", `Webhook bodies are limited to ${MAX_NOTIFICATION_BODY} bytes.`);
  return text;
}
