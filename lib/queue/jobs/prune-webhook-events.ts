import { pruneWebhookEvents } from "@/lib/webhooks/prune-webhook-events";
import { defineJob } from "../define-job";
import { emptyPayload, QUEUES } from "../names";
import { logger } from "@/lib/log";

/** Deletes webhook events older than WEBHOOK_EVENTS_RETENTION_DAYS (hourly). */
export const pruneWebhookEventsJob = defineJob({
  name: QUEUES.pruneWebhookEvents,
  schema: emptyPayload,
  handle: async () => {
    const pruned = await pruneWebhookEvents();
    if (pruned > 0) logger.info({ pruned }, "pruned webhook events past their retention");
  },
});
