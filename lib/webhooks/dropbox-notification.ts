import { createHmac } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "@/lib/api/errors";
import { getDb } from "@/lib/db/client";
import { sources } from "@/lib/db/schema";
import { countWebhook } from "@/lib/metrics/counters";
import { recordWebhookEvent } from "./record-webhook-event";
import { WebhookRefusal } from "./refusals";
import { safeEqual } from "@/lib/safe-equal";

/** Dropbox's notification body: the accounts whose files changed (nothing about which files). */
const notificationSchema = z.object({
  list_folder: z.object({ accounts: z.array(z.string().min(1).max(255)).max(10_000) }).optional(),
  delta: z.object({ users: z.array(z.number()) }).optional(),
});

/** Hex HMAC-SHA256 of the raw body keyed with the app secret, as Dropbox sends it. */
export function dropboxSignature(rawBody: string, secret: string): string {
  return createHmac("sha256", secret).update(rawBody, "utf8").digest("hex");
}

export type DropboxNotificationResult = { accounts: number; queued: number };

/**
 * A Dropbox webhook notification: verify X-Dropbox-Signature on the raw body, then queue an
 * incremental sync (from its stored cursor) for every Dropbox source of each listed account.
 */
export async function handleDropboxNotification(headers: Headers, rawBody: string): Promise<DropboxNotificationResult> {
  const secret = process.env.DROPBOX_APP_SECRET;
  if (!secret) {
    throw new WebhookRefusal(
      "unavailable",
      "Dropbox webhooks are not configured on this server: set DROPBOX_APP_SECRET to the Dropbox app secret.",
    );
  }
  const signature = headers.get("x-dropbox-signature");
  if (!signature) throw new WebhookRefusal("unauthorized", "The X-Dropbox-Signature header is missing.");
  if (!safeEqual(signature.trim().toLowerCase(), dropboxSignature(rawBody, secret))) {
    throw new WebhookRefusal("unauthorized", "The X-Dropbox-Signature does not match the body.");
  }
  let parsed: z.infer<typeof notificationSchema>;
  try {
    parsed = notificationSchema.parse(JSON.parse(rawBody));
  } catch {
    throw new AppError("bad_request", 'The body must be JSON like {"list_folder": {"accounts": ["dbid:..."]}}.');
  }
  countWebhook("dropbox", "accepted");
  const accounts = [...new Set(parsed.list_folder?.accounts ?? [])];
  const targets =
    accounts.length === 0
      ? []
      : await getDb()
          .select({ sourceId: sources.id })
          .from(sources)
          .where(and(eq(sources.type, "dropbox"), inArray(sources.accountId, accounts)));
  if (targets.length === 0) return { accounts: accounts.length, queued: 0 };
  // Dropbox sends no delivery id and the same body for every change of an account: no deduplication.
  const recorded = await recordWebhookEvent({
    sourceType: "dropbox",
    eventType: "list_folder",
    deliveryId: null,
    payload: parsed,
    targets,
  });
  return { accounts: accounts.length, queued: recorded.jobIds.length };
}
