"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { ApiError, apiFetch } from "@/lib/client/api";
import type { CredentialDto } from "@/lib/oauth/schemas";
import { isGitSourceType, isSourceType, oauthProviderFor, sourceTypeLabel, type SourceType } from "@/lib/providers";
import { AccountPicker } from "./account-picker";
import { FolderPicker } from "./folder-picker";
import { Field, FilterFields, fieldErrorMap, filtersFromForm } from "./form-fields";
import {
  browseAuth,
  initialAccount,
  NO_TARGET,
  providerConfig,
  suggestedName,
  type AccountChoice,
  type TargetChoice,
} from "./provider-config";
import { RepositoryPicker } from "./repository-picker";
import { buttonClass, errorAlertClass } from "./ui";
import { useDebounced } from "./use-debounced";

type Props = {
  localRoots: string[];
  credentials: CredentialDto[];
  providers: { id: string; label: string; configured: boolean }[];
  languages: string[];
  initialType?: string;
};

const ORDER: SourceType[] = ["local", "github", "gitlab", "bitbucket", "gdrive", "dropbox"];
const DESCRIPTIONS: Record<SourceType, string> = {
  local: "A folder on this machine, watched for changes",
  github: "A repository and branch",
  gitlab: "A project and branch (gitlab.com or self-managed)",
  bitbucket: "A repository and branch",
  gdrive: "A folder or shared drive",
  dropbox: "A folder",
};

/** Choose the provider, then what to index, then the filters, then create. */
export function ConnectSourceForm(props: Props) {
  const router = useRouter();
  const initialType = props.initialType && isSourceType(props.initialType) ? props.initialType : null;
  const [type, setType] = useState<SourceType | null>(initialType);
  const [account, setAccount] = useState<AccountChoice>(() =>
    initialAccount(initialType ?? "local", props.credentials),
  );
  const [target, setTarget] = useState<TargetChoice>(NO_TARGET);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [submitting, setSubmitting] = useState(false);
  // The name follows the repository or folder until it is edited.
  const [typedName, setTypedName] = useState<string | null>(null);
  const name = typedName ?? (type && type !== "local" ? suggestedName(type, target) : "");
  // The pickers list from the provider as this account once the token has stopped changing.
  const debouncedToken = useDebounced(account.token, 400);
  const auth = type && type !== "local" ? browseAuth(type, { ...account, token: debouncedToken }) : null;
  const choose = (t: SourceType) => {
    setType(t);
    setAccount(initialAccount(t, props.credentials));
    setTarget(NO_TARGET);
    setErrors({});
  };

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!type) return;
    const form = new FormData(event.currentTarget);
    const config: Record<string, unknown> = {
      ...filtersFromForm(form),
      ...(type === "local" ? {} : providerConfig(type, account, target)),
    };
    if (type === "local") config.path = String(form.get("path") ?? "").trim();
    setSubmitting(true);
    setErrors({});
    try {
      const created = await apiFetch<{ source: { id: string } }>("/api/sources", {
        method: "POST",
        body: { type, name, config },
      });
      router.push(`/sources/${created.source.id}`);
      router.refresh();
    } catch (err) {
      const map = err instanceof ApiError ? fieldErrorMap(err.errors) : {};
      if (Object.keys(map).length === 0 || map.form) map.form = (err as Error).message;
      setErrors(map);
      setSubmitting(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-8" noValidate>
      <fieldset>
        <legend className="mb-3 text-base font-semibold">1. Provider</legend>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" role="radiogroup" aria-label="Provider">
          {ORDER.map((t) => (
            <label
              key={t}
              className="flex cursor-pointer flex-col rounded-lg border border-zinc-200 p-4 text-sm has-[:checked]:border-zinc-900 has-[:checked]:ring-2 has-[:checked]:ring-zinc-300 has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-blue-400 dark:border-zinc-800 dark:has-[:checked]:border-zinc-100 dark:has-[:checked]:ring-zinc-700"
            >
              <span className="flex items-center gap-2 font-medium">
                <input
                  type="radio"
                  name="type"
                  value={t}
                  checked={type === t}
                  onChange={() => choose(t)}
                  aria-label={sourceTypeLabel(t)}
                  aria-describedby={`provider-${t}-description`}
                  className="accent-zinc-900"
                />
                {sourceTypeLabel(t)}
              </span>
              <span id={`provider-${t}-description`} className="mt-1 text-xs text-zinc-500">
                {DESCRIPTIONS[t]}
              </span>
            </label>
          ))}
        </div>
      </fieldset>

      {type && (
        <>
          <fieldset className="space-y-4">
            <legend className="mb-3 text-base font-semibold">2. What to index</legend>
            {type === "local" ? (
              <LocalFields roots={props.localRoots} errors={errors} />
            ) : (
              <div className="space-y-4">
                <AccountPicker
                  type={type}
                  credentials={props.credentials}
                  oauthConfigured={props.providers.some((p) => p.id === oauthProviderFor(type) && p.configured)}
                  value={account}
                  onChange={setAccount}
                  errors={errors}
                />
                {isGitSourceType(type) ? (
                  <RepositoryPicker type={type} auth={auth} value={target} onChange={setTarget} errors={errors} />
                ) : (
                  <FolderPicker type={type} auth={auth} value={target} onChange={setTarget} errors={errors} />
                )}
              </div>
            )}
          </fieldset>
          <FilterFields errors={errors} languages={props.languages} />
          <fieldset className="space-y-4">
            <legend className="mb-3 text-base font-semibold">3. Name</legend>
            <Field label="Name" hint="How the dashboard and the API call this source." error={errors.name}>
              {(p) => (
                <input
                  {...p}
                  name="name"
                  value={name}
                  onChange={(e) => setTypedName(e.target.value)}
                  required
                  maxLength={255}
                  autoComplete="off"
                />
              )}
            </Field>
          </fieldset>
          {errors.form && (
            <p role="alert" className={errorAlertClass}>
              {errors.form}
            </p>
          )}
          <button type="submit" disabled={submitting} className={buttonClass}>
            {submitting ? "Connecting…" : "Create source"}
          </button>
        </>
      )}
    </form>
  );
}

function LocalFields({ roots, errors }: { roots: string[]; errors: Record<string, string> }) {
  return (
    <Field
      label="Folder"
      error={errors.path}
      hint={
        roots.length > 0 ? (
          <>
            An absolute folder under{" "}
            {roots.map((r, i) => (
              <span key={r}>
                {i > 0 && ", "}
                <code>{r}</code>
              </span>
            ))}{" "}
            (<code>LOCAL_SOURCE_ROOTS</code>).
          </>
        ) : (
          <>
            No folder may be read yet: set <code>LOCAL_SOURCE_ROOTS</code> and restart the app.
          </>
        )
      }
    >
      {(p) => (
        <>
          <input
            {...p}
            name="path"
            list="local-roots"
            placeholder={roots[0] ? `${roots[0]}/…` : "/srv/code"}
            autoComplete="off"
            className={`${p.className} font-mono`}
          />
          <datalist id="local-roots">
            {roots.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
        </>
      )}
    </Field>
  );
}
