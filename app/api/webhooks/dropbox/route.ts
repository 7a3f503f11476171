import { AppError } from "@/lib/api/errors";
import { readRawBody, withWebhook } from "@/lib/api/with-webhook";
import { handleDropboxNotification } from "@/lib/webhooks/dropbox-notification";

// GET /api/webhooks/dropbox?challenge= – Dropbox's endpoint verification: echo the challenge
export const GET = withWebhook("dropbox", async (request) => {
  const challenge = new URL(request.url).searchParams.get("challenge");
  if (!challenge) throw new AppError("bad_request", "The challenge query parameter is missing.");
  return new Response(challenge, {
    status: 200,
    headers: { "content-type": "text/plain", "x-content-type-options": "nosniff" },
  });
});

// POST /api/webhooks/dropbox – a Dropbox notification (X-Dropbox-Signature checked)
export const POST = withWebhook("dropbox", async (request) => {
  const raw = await readRawBody(request);
  const result = await handleDropboxNotification(request.headers, raw);
  return Response.json({ received: true, queued: result.queued });
});
