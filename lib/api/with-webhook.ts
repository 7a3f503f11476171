import { readWebhookBody } from "@/lib/webhooks/read-webhook-body";
import { refusalResponse, WebhookRefusal } from "@/lib/webhooks/refusals";
import { problemResponse } from "./errors";

/** Drive and Dropbox notifications are small: larger bodies are refused while they stream in. */
export const MAX_NOTIFICATION_BODY = 1024 * 1024;

/**
 * The wrapper of provider-facing notification routes: no session or API token (the provider
 * proves itself by signature or channel token instead); refusals are counted, not logged;
 * anything else is mapped to problem+json as everywhere.
 */
export function withWebhook(route: "gdrive" | "dropbox", handler: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    try {
      return await handler(request);
    } catch (err) {
      if (err instanceof WebhookRefusal) return refusalResponse(route, err);
      return problemResponse(err);
    }
  };
}

/** The raw body, exactly as signed, read within MAX_NOTIFICATION_BODY and the in-flight budget. */
export async function readRawBody(request: Request): Promise<string> {
  return (await readWebhookBody(request, { maxBytes: MAX_NOTIFICATION_BODY })).toString("utf8");
}
