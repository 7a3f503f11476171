"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { SourceType } from "@/lib/connectors/types";
import { apiFetch } from "@/lib/client/api";
import type { BrowseItem } from "@/lib/sources/browse-provider";
import type { CredentialDto } from "@/lib/oauth/credentials";
import { Field } from "./form-fields";
import { PROVIDER_LABELS } from "./status-badge";
import { secondaryButtonClass } from "./ui";
import { useDebounced } from "./use-debounced";

const OAUTH_PROVIDER: Partial<Record<SourceType, string>> = {
  github: "github",
  gitlab: "gitlab",
  bitbucket: "bitbucket",
  gdrive: "google",
  dropbox: "dropbox",
};
const GIT = new Set<SourceType>(["github", "gitlab", "bitbucket"]);

type Props = {
  type: SourceType;
  credentials: CredentialDto[];
  oauthConfigured: boolean;
  errors: Record<string, string>;
  onChange: (config: Record<string, unknown>, suggestedName: string) => void;
};

/**
 * The provider half of the connect form: the account (a connected one, "Connect with …", or a
 * pasted token), then the repository and branch listed from the provider, or the folder.
 */
export function ProviderFields({ type, credentials, oauthConfigured, errors, onChange }: Props) {
  const provider = OAUTH_PROVIDER[type]!;
  const mine = credentials.filter((c) => c.provider === provider && c.status !== "needs_reauth");
  const [account, setAccount] = useState<string>(mine[0]?.id ?? "token");
  const [token, setToken] = useState("");
  const [username, setUsername] = useState("");
  const [host, setHost] = useState("");
  const [repo, setRepo] = useState("");
  const [branch, setBranch] = useState("");
  const [search, setSearch] = useState("");
  const [folders, setFolders] = useState<BrowseItem[]>([]);
  const q = useDebounced(search, 300);
  const debouncedToken = useDebounced(token, 400);
  const auth =
    account === "token"
      ? debouncedToken
        ? { token: debouncedToken, ...(type === "bitbucket" && username ? { username } : {}) }
        : null
      : { credentialId: account };
  const base = { ...auth, ...(type === "gitlab" && host ? { host } : {}) };

  const browse = (body: Record<string, unknown>) =>
    apiFetch<{ items: BrowseItem[] }>(`/api/providers/${type}/browse`, { method: "POST", body: { ...base, ...body } });
  const repos = useQuery({
    queryKey: ["browse", type, base, "repositories", q],
    queryFn: () => browse({ what: "repositories", q: q || undefined }),
    enabled: GIT.has(type) && auth !== null,
    retry: false,
  });
  const branches = useQuery({
    queryKey: ["browse", type, base, "branches", repo],
    queryFn: () => browse({ what: "branches", repo }),
    enabled: GIT.has(type) && auth !== null && /^[\w.-]+(\/[\w.-]+)+$/.test(repo),
    retry: false,
  });
  const current = folders.at(-1);
  const folderList = useQuery({
    queryKey: ["browse", type, base, "folders", current?.id ?? ""],
    queryFn: () => browse({ what: "folders", folder: current?.id }),
    enabled: !GIT.has(type) && auth !== null,
    retry: false,
  });

  // The config this part contributes, and a name to suggest.
  useEffect(() => {
    const config: Record<string, unknown> = {};
    if (account === "token") {
      if (token) config.token = type === "bitbucket" && username ? `${username}:${token}` : token;
    } else config.credentialId = account;
    if (type === "gitlab" && host) config.host = host;
    if (GIT.has(type)) {
      if (repo) config.repo = repo;
      if (branch) config.branch = branch;
      onChange(config, repo);
    } else if (type === "gdrive") {
      if (current) config.folderId = current.id;
      onChange(config, current?.name ?? "My Drive");
    } else {
      config.path = current?.id ?? "";
      onChange(config, current?.name ?? "Dropbox");
    }
  }, [account, token, username, host, repo, branch, current, type, onChange]);

  const returnTo = encodeURIComponent(`/sources/new?type=${type}`);
  const browseError = (repos.error ?? folderList.error)?.message;
  return (
    <div className="space-y-4">
      <fieldset className="space-y-3">
        <legend className="mb-1 text-sm font-medium">Account</legend>
        <div className="flex flex-wrap gap-2">
          {oauthConfigured && (
            <a href={`/api/oauth/${provider}/authorize?returnTo=${returnTo}`} className={secondaryButtonClass}>
              Connect with {PROVIDER_LABELS[type]}
            </a>
          )}
        </div>
        <div className="space-y-1 text-sm" role="radiogroup" aria-label="Account">
          {mine.map((c) => (
            <label key={c.id} className="flex items-center gap-2">
              <input type="radio" name="account" checked={account === c.id} onChange={() => setAccount(c.id)} />
              {c.accountName ?? "account"}{" "}
              <span className="text-xs text-zinc-500">
                ({c.kind === "oauth" ? "connected account" : "saved token"})
              </span>
            </label>
          ))}
          <label className="flex items-center gap-2">
            <input type="radio" name="account" checked={account === "token"} onChange={() => setAccount("token")} />
            Paste a token
          </label>
        </div>
        {account === "token" && (
          <div className="grid gap-3 sm:grid-cols-2">
            {type === "bitbucket" && (
              <Field label="Atlassian account email" error={errors.username}>
                {(p) => (
                  <input
                    {...p}
                    type="email"
                    value={username}
                    onChange={(e) => setUsername(e.target.value)}
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
                  value={token}
                  onChange={(e) => setToken(e.target.value)}
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
                value={host}
                onChange={(e) => setHost(e.target.value)}
                placeholder="https://gitlab.com"
              />
            )}
          </Field>
        )}
      </fieldset>

      {browseError && (
        <p role="alert" className="text-xs text-red-700 dark:text-red-400">
          {browseError}
        </p>
      )}

      {GIT.has(type) ? (
        <div className="grid gap-4 sm:grid-cols-2">
          <div className="space-y-2">
            <Field label="Repository" hint="Search, then pick one; or type owner/name." error={errors.repo}>
              {(p) => (
                <input
                  {...p}
                  value={repo}
                  onChange={(e) => {
                    setRepo(e.target.value);
                    setSearch(e.target.value);
                    setBranch("");
                  }}
                  placeholder="owner/name"
                  autoComplete="off"
                  className={`${p.className} font-mono`}
                />
              )}
            </Field>
            {auth && (
              <ul
                role="listbox"
                aria-label="Repositories"
                className="max-h-56 overflow-auto rounded-md border border-zinc-200 text-sm dark:border-zinc-800"
              >
                {repos.isFetching && <li className="px-3 py-2 text-xs text-zinc-500">Loading…</li>}
                {repos.data?.items.map((r) => (
                  <li key={r.id} role="option" aria-selected={repo === r.id}>
                    <button
                      type="button"
                      onClick={() => {
                        setRepo(r.id);
                        setBranch("");
                      }}
                      className={`w-full px-3 py-1.5 text-left font-mono text-xs hover:bg-zinc-100 focus-visible:bg-zinc-100 dark:hover:bg-zinc-800 dark:focus-visible:bg-zinc-800 ${repo === r.id ? "bg-zinc-100 dark:bg-zinc-800" : ""}`}
                    >
                      {r.name}
                    </button>
                  </li>
                ))}
                {repos.data && repos.data.items.length === 0 && (
                  <li className="px-3 py-2 text-xs text-zinc-500">No repository matches.</li>
                )}
              </ul>
            )}
          </div>
          <Field label="Branch" hint="Empty: the repository's default branch." error={errors.branch}>
            {(p) => (
              <select {...p} value={branch} onChange={(e) => setBranch(e.target.value)} disabled={!branches.data}>
                <option value="">Default branch</option>
                {branches.data?.items.map((b) => (
                  <option key={b.id} value={b.id}>
                    {b.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
      ) : (
        <div className="space-y-2 text-sm">
          <p className="font-medium">Folder</p>
          <nav aria-label="Folder path" className="flex flex-wrap items-center gap-1 text-xs">
            <button type="button" className="underline" onClick={() => setFolders([])}>
              {type === "gdrive" ? "My Drive" : "Dropbox"}
            </button>
            {folders.map((f, i) => (
              <span key={f.id}>
                /{" "}
                <button type="button" className="underline" onClick={() => setFolders(folders.slice(0, i + 1))}>
                  {f.name}
                </button>
              </span>
            ))}
          </nav>
          <p className="text-xs text-zinc-500">
            Indexes <strong>{current?.name ?? (type === "gdrive" ? "all of My Drive" : "the whole Dropbox")}</strong>.
            Open a subfolder to index only that one.
          </p>
          {auth && (
            <ul
              aria-label="Subfolders"
              className="max-h-56 overflow-auto rounded-md border border-zinc-200 dark:border-zinc-800"
            >
              {folderList.isFetching && <li className="px-3 py-2 text-xs text-zinc-500">Loading…</li>}
              {folderList.data?.items.map((f) => (
                <li key={f.id}>
                  <button
                    type="button"
                    onClick={() => setFolders([...folders, f])}
                    className="w-full px-3 py-1.5 text-left text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800"
                  >
                    📁 {f.name}
                  </button>
                </li>
              ))}
              {folderList.data && folderList.data.items.length === 0 && (
                <li className="px-3 py-2 text-xs text-zinc-500">No subfolders.</li>
              )}
            </ul>
          )}
          {errors.folderId || errors.path ? (
            <p role="alert" className="text-xs text-red-700 dark:text-red-400">
              {errors.folderId ?? errors.path}
            </p>
          ) : null}
        </div>
      )}
    </div>
  );
}
