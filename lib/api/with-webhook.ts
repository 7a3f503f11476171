import { readWebhookBody } from "@/lib/webhooks/read-webhook-body";
import { refusalResponse, WebhookRefusal, type WebhookRoute } from "@/lib/webhooks/refusals";
import { withRoute } from "./with-api";

/** Drive and Dropbox notifications are small: larger bodies are refused while they stream in. */
export const MAX_NOTIFICATION_BODY = 1024 * 1024;

/**
 * withRoute for provider-facing webhook routes: no session or API token (the provider proves
 * itself by signature or channel token instead), no access log; refusals are counted, not
 * logged; anything else is mapped to problem+json as everywhere.
 */
export function withWebhook(route: WebhookRoute, handler: (request: Request) => Promise<Response>) {
  return withRoute(({ request }) => handler(request), {
    log: false,
    answerError: (err) => (err instanceof WebhookRefusal ? refusalResponse(route, err) : null),
  });
}

/** The raw body, exactly as signed, read within MAX_NOTIFICATION_BODY and the in-flight budget. */
export async function readRawBody(request: Request): Promise<string> {
  return (await readWebhookBody(request, { maxBytes: MAX_NOTIFICATION_BODY })).toString("utf8");
}
