"use client";

import { useId } from "react";
import type { FieldError } from "@/lib/api/problem";
import { inputClass } from "./ui";

/** Field errors from a problem answer keyed by field: `config.include.0` → `include`, `name` → `name`. */
export function fieldErrorMap(errors: FieldError[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const e of errors) {
    const key = e.path.replace(/^config\.?/, "").split(".")[0] || "form";
    map[key] ??= e.message;
  }
  return map;
}

/** A labelled control with its hint and its error beside it, wired with aria-describedby. */
export function Field({
  label,
  hint,
  error,
  children,
  className = "",
}: {
  label: string;
  hint?: React.ReactNode;
  error?: string;
  className?: string;
  children: (props: {
    id: string;
    "aria-invalid": boolean | undefined;
    "aria-describedby": string | undefined;
    className: string;
  }) => React.ReactNode;
}) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`text-sm ${className}`}>
      <label htmlFor={id} className="mb-1 block font-medium">
        {label}
      </label>
      {children({
        id,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": describedBy,
        className: `${inputClass} ${error ? "border-red-500 dark:border-red-500" : ""}`,
      })}
      {hint && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-zinc-500">
          {hint}
        </p>
      )}
      {error && (
        <p
          id={`${id}-error`}
          role="alert"
          className="mt-1 text-xs text-red-700 dark:text-red-400"
          data-testid="field-error"
        >
          {error}
        </p>
      )}
    </div>
  );
}

export type Filters = { include?: string[]; exclude?: string[]; languages?: string[]; maxFileSize?: number };

const lines = (value: FormDataEntryValue | null) =>
  String(value ?? "")
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The filter fields of a form as config keys; empty fields are left out (no filter). */
export function filtersFromForm(form: FormData): Filters & { maxFileSize?: number } {
  const filters: Filters = {};
  const include = lines(form.get("include"));
  const exclude = lines(form.get("exclude"));
  const languages = lines(form.get("languages"));
  if (include.length) filters.include = include;
  if (exclude.length) filters.exclude = exclude;
  if (languages.length) filters.languages = languages;
  const size = String(form.get("maxFileSizeKb") ?? "").trim();
  // Sent as typed: a bad value comes back from the server as an error beside the field.
  if (size !== "") filters.maxFileSize = Number(size) * 1024;
  return filters;
}

/** Include and exclude globs, languages and the size cap, shared by the connect and settings forms. */
export function FilterFields({
  defaults = {},
  errors,
  languages,
}: {
  defaults?: Filters;
  errors: Record<string, string>;
  languages: string[];
}) {
  const listId = useId();
  return (
    <fieldset className="grid gap-4 sm:grid-cols-2">
      <legend className="mb-2 text-base font-semibold">Filters</legend>
      <Field label="Include" hint="Globs, one per line (e.g. src/**). Empty: every file." error={errors.include}>
        {(p) => (
          <textarea
            {...p}
            name="include"
            rows={3}
            defaultValue={defaults.include?.join("\n")}
            className={`${p.className} font-mono`}
          />
        )}
      </Field>
      <Field
        label="Exclude"
        hint="Globs, one per line (e.g. **/*.min.js). node_modules, .git and the like are always skipped."
        error={errors.exclude}
      >
        {(p) => (
          <textarea
            {...p}
            name="exclude"
            rows={3}
            defaultValue={defaults.exclude?.join("\n")}
            className={`${p.className} font-mono`}
          />
        )}
      </Field>
      <Field
        label="Languages"
        hint="Comma-separated, e.g. typescript, python. Empty: every language."
        error={errors.languages}
      >
        {(p) => (
          <>
            <input
              {...p}
              name="languages"
              list={listId}
              defaultValue={defaults.languages?.join(", ")}
              autoComplete="off"
            />
            <datalist id={listId}>
              {languages.map((l) => (
                <option key={l} value={l} />
              ))}
            </datalist>
          </>
        )}
      </Field>
      <Field label="Size cap (KB)" hint="Larger files are skipped. Empty: 1024 KB." error={errors.maxFileSize}>
        {(p) => (
          <input
            {...p}
            name="maxFileSizeKb"
            type="number"
            min={1}
            step="any"
            inputMode="numeric"
            defaultValue={defaults.maxFileSize ? Math.round(defaults.maxFileSize / 1024) : undefined}
          />
        )}
      </Field>
    </fieldset>
  );
}
