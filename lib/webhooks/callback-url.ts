/** Source types whose provider can call us back with a signed push webhook. */
export const WEBHOOK_PROVIDERS = ["github", "gitlab", "bitbucket"] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/**
 * Where the provider should send this type's webhooks, or null when APP_URL is unset (the
 * source is then polled by the poll-sources job).
 */
export function webhookCallbackUrl(type: string): string | null {
  const appUrl = process.env.APP_URL?.trim();
  if (!appUrl || !(WEBHOOK_PROVIDERS as readonly string[]).includes(type)) return null;
  return `${appUrl.replace(/\/+$/, "")}/api/webhooks/${type}`;
}
