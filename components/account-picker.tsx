"use client";

import type { CredentialDto } from "@/lib/oauth/schemas";
import { oauthProviderFor, sourceTypeLabel, type SourceType } from "@/lib/providers";
import { Field } from "./form-fields";
import { accountsFor, type AccountChoice } from "./provider-config";
import { secondaryButtonClass } from "./ui";

/** The account a provider source reads as: a connected one, "Connect with …" (OAuth), or a pasted token. */
export function AccountPicker({
  type,
  credentials,
  oauthConfigured,
  value,
  onChange,
  errors,
}: {
  type: SourceType;
  credentials: CredentialDto[];
  oauthConfigured: boolean;
  value: AccountChoice;
  onChange: (account: AccountChoice) => void;
  errors: Record<string, string>;
}) {
  const set = (patch: Partial<AccountChoice>) => onChange({ ...value, ...patch });
  const returnTo = encodeURIComponent(`/sources/new?type=${type}`);
  return (
    <fieldset className="space-y-3">
      <legend className="mb-1 text-sm font-medium">Account</legend>
      {oauthConfigured && (
        <div className="flex flex-wrap gap-2">
          <a
            href={`/api/oauth/${oauthProviderFor(type)}/authorize?returnTo=${returnTo}`}
            className={secondaryButtonClass}
          >
            Connect with {sourceTypeLabel(type)}
          </a>
        </div>
      )}
      <div className="space-y-1 text-sm" role="radiogroup" aria-label="Account">
        {accountsFor(type, credentials).map((c) => (
          <label key={c.id} className="flex items-center gap-2">
            <input
              type="radio"
              name="account"
              checked={value.credentialId === c.id}
              onChange={() => set({ credentialId: c.id })}
            />
            {c.accountName ?? "account"}{" "}
            <span className="text-xs text-zinc-500">({c.kind === "oauth" ? "connected account" : "saved token"})</span>
          </label>
        ))}
        <label className="flex items-center gap-2">
          <input
            type="radio"
            name="account"
            checked={value.credentialId === null}
            onChange={() => set({ credentialId: null })}
          />
          Paste a token
        </label>
      </div>
      {value.credentialId === null && (
        <div className="grid gap-3 sm:grid-cols-2">
          {type === "bitbucket" && (
            <Field label="Atlassian account email" error={errors.username}>
              {(p) => (
                <input
                  {...p}
                  type="email"
                  value={value.username}
                  onChange={(e) => set({ username: e.target.value })}
                  autoComplete="off"
                />
              )}
            </Field>
          )}
          <Field label="Access token" hint="Stored encrypted; never shown again." error={errors.token}>
            {(p) => (
              <input
                {...p}
                type="password"
                value={value.token}
                onChange={(e) => set({ token: e.target.value })}
                autoComplete="off"
              />
            )}
          </Field>
        </div>
      )}
      {type === "gitlab" && (
        <Field
          label="GitLab URL"
          hint="Empty: https://gitlab.com. A self-managed instance: its https URL."
          error={errors.host}
        >
          {(p) => (
            <input
              {...p}
              type="url"
              value={value.host}
              onChange={(e) => set({ host: e.target.value })}
              placeholder="https://gitlab.com"
            />
          )}
        </Field>
      )}
    </fieldset>
  );
}
