import { readRawBody, withWebhook } from "@/lib/api/with-webhook";
import { handleDriveNotification } from "@/lib/webhooks/gdrive-notification";

// POST /api/webhooks/gdrive – a Google Drive push notification (channel id and token checked)
export const POST = withWebhook("gdrive", async (request) => {
  await readRawBody(request);
  const result = await handleDriveNotification(request.headers);
  return Response.json({ received: true, queued: result.queued });
});
