"use client";

import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { apiFetch } from "@/lib/client/api";
import { formatBytes } from "@/lib/format";
import { RelativeTime } from "./relative-time";
import { errorAlertClass, inputClass, secondaryButtonClass } from "./ui";
import { useDebounced } from "./use-debounced";

type FileDto = {
  path: string;
  sha: string | null;
  size: number | null;
  language: string | null;
  lastModified: string | null;
  indexedAt: string | null;
};
type Page = { files: FileDto[]; nextCursor: string | null };

const PAGE = 100;

/** The source's indexed files in path order, filtered by path prefix and language, a page at a time. */
export function FileBrowser({
  sourceId,
  initial,
  languages,
}: {
  sourceId: string;
  initial: Page;
  languages: string[];
}) {
  const [prefix, setPrefix] = useState("");
  const [language, setLanguage] = useState("");
  const debouncedPrefix = useDebounced(prefix, 250);
  const unfiltered = debouncedPrefix === "" && language === "";
  const query = useInfiniteQuery({
    queryKey: ["files", sourceId, debouncedPrefix, language],
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE) });
      if (pageParam) params.set("cursor", pageParam);
      if (debouncedPrefix) params.set("prefix", debouncedPrefix);
      if (language) params.set("language", language);
      return apiFetch<Page>(`/api/sources/${sourceId}/files?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    initialData: unfiltered ? { pages: [initial], pageParams: [null] } : undefined,
    placeholderData: keepPreviousData,
  });
  const files = query.data?.pages.flatMap((p) => p.files) ?? [];
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap gap-3">
        <label className="min-w-48 flex-1 text-sm">
          <span className="sr-only">Filter by path</span>
          <input
            type="search"
            value={prefix}
            onChange={(e) => setPrefix(e.target.value)}
            placeholder="Filter by path prefix, e.g. src/"
            className={`${inputClass} font-mono`}
            aria-label="Filter by path prefix"
          />
        </label>
        <label className="text-sm">
          <span className="sr-only">Language</span>
          <select
            value={language}
            onChange={(e) => setLanguage(e.target.value)}
            className={inputClass}
            aria-label="Filter by language"
          >
            <option value="">All languages</option>
            {languages.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      {query.isError && (
        <p role="alert" className={errorAlertClass}>
          Could not load the files: {query.error.message}
        </p>
      )}
      <div
        className={`overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800 ${query.isFetching && !query.isFetchingNextPage ? "opacity-70" : ""}`}
      >
        <table
          className="w-full min-w-[40rem] text-left text-sm"
          aria-label="Indexed files"
          aria-busy={query.isFetching}
        >
          <thead className="bg-zinc-50 text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
            <tr>
              <th scope="col" className="px-3 py-2 font-medium">
                Path
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                Language
              </th>
              <th scope="col" className="px-3 py-2 text-right font-medium">
                Size
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                SHA
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                Indexed
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100 dark:divide-zinc-900">
            {files.map((f) => (
              <tr key={f.path} data-testid="file-row">
                <td className="max-w-md truncate px-3 py-1.5 font-mono text-xs">
                  <Link
                    href={`/sources/${sourceId}/file?path=${encodeURIComponent(f.path)}`}
                    className="hover:underline focus-visible:underline"
                  >
                    {f.path}
                  </Link>
                </td>
                <td className="px-3 py-1.5 text-xs">{f.language ?? "—"}</td>
                <td className="px-3 py-1.5 text-right text-xs tabular-nums">{formatBytes(f.size)}</td>
                <td className="px-3 py-1.5 font-mono text-xs" title={f.sha ?? undefined}>
                  {f.sha?.slice(0, 10) ?? "—"}
                </td>
                <td className="whitespace-nowrap px-3 py-1.5 text-xs">
                  <RelativeTime iso={f.indexedAt} fallback="—" />
                </td>
              </tr>
            ))}
            {files.length === 0 && !query.isPending && (
              <tr>
                <td colSpan={5} className="px-3 py-6 text-center text-sm text-zinc-500">
                  {unfiltered ? "No files indexed yet." : "No file matches these filters."}
                </td>
              </tr>
            )}
            {query.isPending && (
              <tr>
                <td colSpan={5} className="px-3 py-6 text-center text-sm text-zinc-500" role="status">
                  Loading files…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {query.hasNextPage && (
        <button
          type="button"
          className={secondaryButtonClass}
          disabled={query.isFetchingNextPage}
          onClick={() => void query.fetchNextPage()}
        >
          {query.isFetchingNextPage ? "Loading…" : `Show ${PAGE} more`}
        </button>
      )}
    </div>
  );
}
