import { revokeTokenAction } from "./actions";
import { AddCredentialForm } from "@/components/add-credential-form";
import { DeleteCredentialButton } from "@/components/delete-credential-button";
import { NewTokenForm } from "@/components/new-token-form";
import { RelativeTime } from "@/components/relative-time";
import { errorAlertClass, okAlertClass, secondaryButtonClass } from "@/components/ui";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { settingsData } from "@/lib/dashboard";
import { providerLabel } from "@/lib/oauth/providers";

export const dynamic = "force-dynamic";

const OAUTH_ERRORS: Record<string, string> = {
  access_denied: "you declined the access request, so nothing was connected",
  consent_required: "the provider needs your consent; start again",
  server_error: "the provider had an error; try again later",
  temporarily_unavailable: "the provider is temporarily unavailable; try again later",
};

const when = (iso: string | null) => <RelativeTime iso={iso} />;

export const metadata = { title: "Settings" };

export default async function SettingsPage({
  searchParams,
}: {
  searchParams: Promise<{ connected?: string; oauth_error?: string; provider?: string }>;
}) {
  const user = await requireUser();
  const { tokens, credentials, providers } = await settingsData({ ...actorOf(user), userId: user.id });
  const query = await searchParams;
  return (
    <div className="space-y-10">
      <h1 className="text-2xl font-semibold">Settings</h1>
      {query.connected && <p className={okAlertClass}>{providerLabel(query.connected)} connected.</p>}
      {query.oauth_error && (
        <p role="alert" className={errorAlertClass}>
          {providerLabel(query.provider ?? "")} answered <code>{query.oauth_error}</code>
          {Object.hasOwn(OAUTH_ERRORS, query.oauth_error)
            ? `: ${OAUTH_ERRORS[query.oauth_error]}.`
            : "; nothing was connected."}
        </p>
      )}

      <section aria-labelledby="tokens">
        <h2 id="tokens" className="mb-1 text-lg font-semibold">
          API tokens
        </h2>
        <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">
          For other services: send <code>Authorization: Bearer &lt;token&gt;</code>. See the{" "}
          <a className="underline" href="/api/openapi.json">
            API reference
          </a>
          .
        </p>
        <NewTokenForm />
        {tokens.length > 0 && (
          <ul
            className="mt-4 divide-y divide-zinc-200 rounded-lg border border-zinc-200 text-sm dark:divide-zinc-800 dark:border-zinc-800"
            aria-label="API tokens"
          >
            {tokens.map((t) => (
              <li key={t.id} className="flex items-center justify-between gap-4 px-4 py-3" data-testid="token-row">
                <div className="min-w-0">
                  <p className="font-medium">
                    {t.name}{" "}
                    {t.revokedAt && (
                      <span className="ml-1 rounded-full bg-zinc-100 px-2 py-0.5 text-xs font-normal text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400">
                        revoked
                      </span>
                    )}
                  </p>
                  <p className="text-xs text-zinc-500">
                    created {when(t.createdAt)} · last used {when(t.lastUsedAt)}
                    {t.revokedAt && ` · revoked ${when(t.revokedAt)}`}
                  </p>
                </div>
                {!t.revokedAt && (
                  <form action={revokeTokenAction}>
                    <input type="hidden" name="id" value={t.id} />
                    <button type="submit" className={secondaryButtonClass} aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </button>
                  </form>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="account">
        <h2 id="account" className="mb-1 text-lg font-semibold">
          Account
        </h2>
        <dl className="grid max-w-xl grid-cols-[auto_1fr] gap-x-6 gap-y-1 text-sm">
          <dt className="text-zinc-500">Email</dt>
          <dd data-testid="account-email">{user.email}</dd>
          <dt className="text-zinc-500">Role</dt>
          <dd>{user.role}</dd>
        </dl>
        <p className="mt-2 text-xs text-zinc-500">
          Add users from the command line: <code>npm run cli -- users create &lt;email&gt;</code>.
        </p>
      </section>

      <section aria-labelledby="accounts">
        <h2 id="accounts" className="mb-1 text-lg font-semibold">
          Connected accounts
        </h2>
        <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">
          Provider tokens are stored encrypted and never shown again.
        </p>
        <div className="mb-4 flex flex-wrap gap-2">
          {providers.map((p) =>
            p.configured ? (
              <a key={p.id} href={`/api/oauth/${p.id}/authorize?returnTo=/settings`} className={secondaryButtonClass}>
                Connect {p.label}
              </a>
            ) : (
              <span
                key={p.id}
                title={`Set ${p.id.toUpperCase()}_CLIENT_ID and ${p.id.toUpperCase()}_CLIENT_SECRET`}
                className={`${secondaryButtonClass} cursor-not-allowed opacity-50`}
              >
                {p.label} not configured
              </span>
            ),
          )}
        </div>
        {credentials.length > 0 && (
          <ul
            className="mb-6 divide-y divide-zinc-200 rounded-lg border border-zinc-200 text-sm dark:divide-zinc-800 dark:border-zinc-800"
            aria-label="Connected accounts"
          >
            {credentials.map((c) => (
              <li key={c.id} className="flex items-center justify-between gap-4 px-4 py-3">
                <div>
                  <p className="font-medium">
                    {providerLabel(c.provider)} · {c.accountName ?? "token"}{" "}
                    <span className="text-xs font-normal text-zinc-500">
                      ({c.kind === "oauth" ? "OAuth" : c.kind === "pat" ? "personal access token" : "API token"})
                    </span>
                  </p>
                  <p className="text-xs text-zinc-500">
                    id <code>{c.id}</code>
                    {c.expiresAt && ` · token expires ${when(c.expiresAt)}`}
                  </p>
                  {c.status === "needs_reauth" && (
                    <p className="mt-1 text-xs text-amber-700 dark:text-amber-400">
                      Needs reconnecting: {c.lastError ?? "the provider no longer accepts the token."}
                    </p>
                  )}
                </div>
                <div className="flex items-start gap-2">
                  {c.kind === "oauth" && providers.find((p) => p.id === c.provider)?.configured && (
                    <a href={`/api/oauth/${c.provider}/authorize?returnTo=/settings`} className={secondaryButtonClass}>
                      {c.status === "needs_reauth" ? "Reconnect" : "Refresh consent"}
                    </a>
                  )}
                  <DeleteCredentialButton id={c.id} />
                </div>
              </li>
            ))}
          </ul>
        )}
        <h3 className="mb-2 text-sm font-semibold">Add a token</h3>
        <AddCredentialForm />
      </section>
    </div>
  );
}
