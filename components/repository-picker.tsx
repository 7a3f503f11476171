"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { SourceType } from "@/lib/providers";
import { Field } from "./form-fields";
import { browse, type TargetChoice } from "./provider-config";
import { useDebounced } from "./use-debounced";

/** A repository listed from the provider (searchable, or typed as owner/name) and one of its branches. */
export function RepositoryPicker({
  type,
  auth,
  value,
  onChange,
  errors,
}: {
  type: SourceType;
  auth: Record<string, unknown> | null;
  value: TargetChoice;
  onChange: (target: TargetChoice) => void;
  errors: Record<string, string>;
}) {
  const [search, setSearch] = useState("");
  const q = useDebounced(search, 300);
  const repos = useQuery({
    queryKey: ["browse", type, auth, "repositories", q],
    queryFn: () => browse(type, auth!, { what: "repositories", q: q || undefined }),
    enabled: auth !== null,
    retry: false,
  });
  const branches = useQuery({
    queryKey: ["browse", type, auth, "branches", value.repo],
    queryFn: () => browse(type, auth!, { what: "branches", repo: value.repo }),
    enabled: auth !== null && /^[\w.-]+(\/[\w.-]+)+$/.test(value.repo),
    retry: false,
  });
  const pick = (repo: string) => onChange({ ...value, repo, branch: "" });
  return (
    <>
      {repos.error && (
        <p role="alert" className="error-text text-xs">
          {repos.error.message}
        </p>
      )}
      <div className="grid gap-4 sm:grid-cols-2">
        <div className="space-y-2">
          <Field label="Repository" hint="Search, then pick one; or type owner/name." error={errors.repo}>
            {(p) => (
              <input
                {...p}
                value={value.repo}
                onChange={(e) => {
                  pick(e.target.value);
                  setSearch(e.target.value);
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
                <li key={r.id} role="option" aria-selected={value.repo === r.id}>
                  <button
                    type="button"
                    onClick={() => pick(r.id)}
                    className={`w-full px-3 py-1.5 text-left font-mono text-xs hover:bg-zinc-100 focus-visible:bg-zinc-100 dark:hover:bg-zinc-800 dark:focus-visible:bg-zinc-800 ${value.repo === r.id ? "bg-zinc-100 dark:bg-zinc-800" : ""}`}
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
            <select
              {...p}
              value={value.branch}
              onChange={(e) => onChange({ ...value, branch: e.target.value })}
              disabled={!branches.data}
            >
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
    </>
  );
}
