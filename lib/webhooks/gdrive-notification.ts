import { eq } from "drizzle-orm";
import { openChannelToken } from "@/lib/sources/drive-channels";
import { getDb } from "@/lib/db/client";
import { driveChannels } from "@/lib/db/schema";
import { countWebhook } from "@/lib/metrics/counters";
import { DecryptionError } from "@/lib/oauth/encryption";
import { recordWebhookEvent } from "./record-webhook-event";
import { WebhookRefusal } from "./refusals";
import { safeEqual } from "@/lib/safe-equal";

export type DriveNotificationResult = { queued: boolean; duplicate: boolean };

const unauthorized = () => new WebhookRefusal("unauthorized", "Unknown channel or wrong channel token.");

/**
 * A Google Drive push notification. Drive signs nothing: the channel id must be one we opened
 * and the channel token the one we gave it. `sync` (the channel's first message) queues
 * nothing; every other state queues an incremental sync of the channel's source, which reads
 * the change feed (the notification itself names no files).
 */
export async function handleDriveNotification(headers: Headers): Promise<DriveNotificationResult> {
  const channelId = headers.get("x-goog-channel-id");
  const token = headers.get("x-goog-channel-token");
  if (!channelId || !token || channelId.length > 64) throw unauthorized();
  const [channel] = await getDb().select().from(driveChannels).where(eq(driveChannels.channelId, channelId));
  if (!channel) throw unauthorized();
  let expected: string;
  try {
    expected = openChannelToken(channel);
  } catch (err) {
    if (err instanceof DecryptionError) throw unauthorized();
    throw err;
  }
  if (!safeEqual(token, expected)) throw unauthorized();
  const resourceId = headers.get("x-goog-resource-id");
  if (channel.resourceId && resourceId !== channel.resourceId) throw unauthorized();

  const state = headers.get("x-goog-resource-state") ?? "change";
  if (state === "sync") {
    countWebhook("gdrive", "accepted");
    return { queued: false, duplicate: false };
  }
  const messageNumber = headers.get("x-goog-message-number");
  const recorded = await recordWebhookEvent({
    sourceType: "gdrive",
    eventType: state,
    // Drive numbers the messages of a channel: a redelivered message has the same number.
    deliveryId: messageNumber ? `${channelId}:${messageNumber}` : null,
    payload: { channelId, resourceId, resourceState: state, messageNumber, changed: headers.get("x-goog-changed") },
    targets: [{ sourceId: channel.sourceId }],
  });
  countWebhook("gdrive", recorded.duplicate ? "duplicate" : "accepted");
  return { queued: recorded.jobIds.length > 0, duplicate: recorded.duplicate };
}
