/** Source types whose provider calls a per-source webhook we register (git push hooks). */
export const WEBHOOK_PROVIDERS = ["github", "gitlab", "bitbucket"] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/**
 * Where a provider reaches this app's webhook route for `type`, or null when APP_URL is unset
 * (git sources are then polled by the poll-sources job).
 */
export function webhookCallbackUrl(type: string): string | null {
  const appUrl = process.env.APP_URL?.trim().replace(/\/+$/, "");
  return appUrl ? `${appUrl}/api/webhooks/${type}` : null;
}
