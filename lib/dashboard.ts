import "server-only";
import { listApiTokens } from "@/lib/auth/api-tokens";
import type { Actor } from "@/lib/auth/api-tokens";
import { getDb } from "@/lib/db/client";
import { listCredentials } from "@/lib/oauth/credentials";
import { OAUTH_PROVIDERS, oauthClient, providerLabel } from "@/lib/oauth/providers";
import { listSources } from "@/lib/sources/list-sources";

/** The server-only data layer the dashboard pages read through. */
export async function dashboardSources(actor: Actor) {
  return listSources(getDb(), actor);
}

/** What the settings page shows: the user's API tokens, the accounts they may use, the providers they can connect. */
export async function settingsData(actor: Actor & { userId: string }) {
  const [tokens, credentials] = await Promise.all([listApiTokens(getDb(), actor.userId), listCredentials(getDb(), actor)]);
  const providers = OAUTH_PROVIDERS.map((id) => ({ id, label: providerLabel(id), configured: oauthClient(id) !== null }));
  return { tokens, credentials, providers };
}
