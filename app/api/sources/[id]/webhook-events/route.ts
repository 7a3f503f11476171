import { searchParams, withApi } from "@/lib/api/with-api";
import { getSourceOrThrow } from "@/lib/sources/get-source-or-throw";
import { sourceIdParams, webhookEventsQuery } from "@/lib/sources/schemas";
import { listWebhookEvents } from "@/lib/webhooks/list-webhook-events";

// GET /api/sources/:id/webhook-events – the source's latest webhook events (no payloads)
export const GET = withApi<{ id: string }>(async ({ request, params, actor }) => {
  const { id } = sourceIdParams.parse(params);
  const { limit } = webhookEventsQuery.parse(searchParams(request));
  await getSourceOrThrow(actor, id);
  return { events: await listWebhookEvents(id, limit) };
});
