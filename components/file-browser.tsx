"use client";

import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { apiFetch } from "@/lib/client/api";
import { formatBytes } from "@/lib/format";
import type { FileListRow } from "@/lib/sources/schemas";
import { RelativeTime } from "./relative-time";
import { errorAlertClass, inputClass, secondaryButtonClass } from "./ui";
import { useDebounced } from "./use-debounced";

type Page = { files: FileListRow[]; nextCursor: string | null };

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
      <div className={`table-frame ${query.isFetching && !query.isFetchingNextPage ? "opacity-70" : ""}`}>
        <table className="data-table file-table min-w-[40rem]" aria-label="Indexed files" aria-busy={query.isFetching}>
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col">Language</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">SHA</th>
              <th scope="col">Indexed</th>
            </tr>
          </thead>
          <tbody>
            {files.map((f) => (
              <tr key={f.path} data-testid="file-row">
                <td>
                  <Link href={`/sources/${sourceId}/file?path=${encodeURIComponent(f.path)}`} className="link">
                    {f.path}
                  </Link>
                </td>
                <td>{f.language ?? "—"}</td>
                <td>{formatBytes(f.size)}</td>
                <td title={f.sha ?? undefined}>{f.sha?.slice(0, 10) ?? "—"}</td>
                <td>
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
