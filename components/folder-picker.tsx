"use client";

import { useQuery } from "@tanstack/react-query";
import type { SourceType } from "@/lib/providers";
import { browse, type TargetChoice } from "./provider-config";

/** A Drive or Dropbox folder, opened down from the root; the last one opened is indexed. */
export function FolderPicker({
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
  const { folders } = value;
  const current = folders.at(-1);
  const open = (path: TargetChoice["folders"]) => onChange({ ...value, folders: path });
  const list = useQuery({
    queryKey: ["browse", type, auth, "folders", current?.id ?? ""],
    queryFn: () => browse(type, auth!, { what: "folders", folder: current?.id }),
    enabled: auth !== null,
    retry: false,
  });
  const root = type === "gdrive" ? "My Drive" : "Dropbox";
  return (
    <div className="space-y-2 text-sm">
      {list.error && (
        <p role="alert" className="error-text text-xs">
          {list.error.message}
        </p>
      )}
      <p className="font-medium">Folder</p>
      <nav aria-label="Folder path" className="flex flex-wrap items-center gap-1 text-xs">
        <button type="button" className="underline" onClick={() => open([])}>
          {root}
        </button>
        {folders.map((f, i) => (
          <span key={f.id}>
            /{" "}
            <button type="button" className="underline" onClick={() => open(folders.slice(0, i + 1))}>
              {f.name}
            </button>
          </span>
        ))}
      </nav>
      <p className="text-xs text-zinc-500">
        Indexes <strong>{current?.name ?? (type === "gdrive" ? "all of My Drive" : "the whole Dropbox")}</strong>. Open
        a subfolder to index only that one.
      </p>
      {auth && (
        <ul
          aria-label="Subfolders"
          className="max-h-56 overflow-auto rounded-md border border-zinc-200 dark:border-zinc-800"
        >
          {list.isFetching && <li className="px-3 py-2 text-xs text-zinc-500">Loading…</li>}
          {list.data?.items.map((f) => (
            <li key={f.id}>
              <button
                type="button"
                onClick={() => open([...folders, f])}
                className="w-full px-3 py-1.5 text-left text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800"
              >
                📁 {f.name}
              </button>
            </li>
          ))}
          {list.data && list.data.items.length === 0 && (
            <li className="px-3 py-2 text-xs text-zinc-500">No subfolders.</li>
          )}
        </ul>
      )}
      {errors.folderId || errors.path ? (
        <p role="alert" className="error-text text-xs">
          {errors.folderId ?? errors.path}
        </p>
      ) : null}
    </div>
  );
}
