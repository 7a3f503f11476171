/** Where a provider reaches this app's webhook route, when APP_URL says the app is reachable. */
export function webhookCallbackUrl(provider: string): string | null {
  const base = process.env.APP_URL?.trim().replace(/\/+$/, "");
  return base ? `${base}/api/webhooks/${provider}` : null;
}
