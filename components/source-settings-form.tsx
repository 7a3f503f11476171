"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ApiError, apiFetch } from "@/lib/client/api";
import type { SourceDto } from "@/lib/sources/schemas";
import { Field, FilterFields, type Filters, fieldErrorMap, filtersFromForm } from "./form-fields";
import { buttonClass, errorAlertClass, okAlertClass } from "./ui";

const GIT_HOSTS = new Set(["github", "gitlab", "bitbucket"]);

/** The source's name, branch (git hosts) and filters; saving new filters queues a full sync. */
export function SourceSettingsForm({ source, languages }: { source: SourceDto; languages: string[] }) {
  const client = useQueryClient();
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const [pending, setPending] = useState(false);
  const [resync, setResync] = useState(false);
  const config = source.config as Filters & { branch?: string };

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const filters = filtersFromForm(form);
    // Send every filter key, empty ones as null-ish defaults, so clearing a field clears the filter.
    const next: Record<string, unknown> = {
      include: filters.include ?? [],
      exclude: filters.exclude ?? [],
      languages: filters.languages ?? [],
    };
    // null removes the cap (back to the default), as PATCH reads it.
    next.maxFileSize = filters.maxFileSize ?? null;
    if (GIT_HOSTS.has(source.type)) {
      const branch = String(form.get("branch") ?? "").trim();
      if (branch) next.branch = branch;
    }
    setPending(true);
    setErrors({});
    setSaved(false);
    try {
      // A config change queues a full sync: send it only when something in it changed.
      const changed = Object.entries(next).some(
        ([key, value]) =>
          JSON.stringify(value) !==
          JSON.stringify(
            (config as Record<string, unknown>)[key] ?? (Array.isArray(value) ? [] : value === null ? null : undefined),
          ),
      );
      await apiFetch(`/api/sources/${source.id}`, {
        method: "PATCH",
        body: { name: String(form.get("name") ?? ""), ...(changed ? { config: next } : {}) },
      });
      setResync(changed);
      setSaved(true);
      await client.invalidateQueries({ queryKey: ["source", source.id] });
      await client.invalidateQueries({ queryKey: ["jobs", source.id] });
      router.refresh();
    } catch (err) {
      const map = err instanceof ApiError ? fieldErrorMap(err.errors) : {};
      if (Object.keys(map).length === 0 || map.form) map.form = (err as Error).message;
      setErrors(map);
    } finally {
      setPending(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-6" noValidate aria-label="Source settings">
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" error={errors.name}>
          {(p) => <input {...p} name="name" defaultValue={source.name} required maxLength={255} />}
        </Field>
        {GIT_HOSTS.has(source.type) && (
          <Field label="Branch" hint="Empty: the repository's default branch." error={errors.branch}>
            {(p) => <input {...p} name="branch" defaultValue={config.branch ?? ""} autoComplete="off" />}
          </Field>
        )}
      </div>
      <FilterFields defaults={config} errors={errors} languages={languages} />
      {errors.form && (
        <p role="alert" className={errorAlertClass}>
          {errors.form}
        </p>
      )}
      {saved && (
        <p className={okAlertClass}>Saved.{resync ? " A full sync was queued to apply the new settings." : ""}</p>
      )}
      <button type="submit" className={buttonClass} disabled={pending}>
        {pending ? "Saving…" : "Save settings"}
      </button>
    </form>
  );
}
