"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { listHref } from "./list-url";
import { SOURCE_TYPES, sourceTypeLabel } from "@/lib/providers";
import { inputClass } from "./ui";
import { useDebounced } from "./use-debounced";

export type SourcesQuery = {
  q?: string;
  type: string[];
  status: string[];
  sort: string;
  cursor?: string;
  prev: string[];
};

/** The sources page's URL for a query (paging left out unless given). */
export function sourcesHref(query: SourcesQuery): string {
  return listHref("/", {
    q: query.q,
    type: query.type,
    status: query.status,
    sort: query.sort === "status" ? undefined : query.sort,
    cursor: query.cursor,
    prev: query.cursor ? query.prev : undefined,
  });
}

const STATUS_ORDER = ["error", "needs_reauth", "syncing", "pending", "synced"] as const;
const STATUS_LABELS: Record<string, string> = { needs_reauth: "needs reauth" };
const SORT_LABELS: Record<string, string> = {
  status: "Errors first",
  name: "Name A–Z",
  "-name": "Name Z–A",
  "-createdAt": "Newest",
  "-lastSyncAt": "Synced recently",
  lastSyncAt: "Synced longest ago",
};

/** Search, filters, sort and counts of the sources list; every change is a new URL (shareable, back button works). */
export function SourcesToolbar({ query, statusCounts }: { query: SourcesQuery; statusCounts: Record<string, number> }) {
  const router = useRouter();
  const [search, setSearch] = useState(query.q ?? "");
  const debounced = useDebounced(search, 300);
  const go = (change: Partial<SourcesQuery>, replace = false) => {
    const href = sourcesHref({ ...query, ...change, cursor: undefined, prev: [] });
    if (replace) router.replace(href);
    else router.push(href);
  };
  useEffect(() => {
    if (debounced.trim() !== (query.q ?? "")) go({ q: debounced.trim() || undefined }, true);
    // Only a settled search moves the URL.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);
  // The back button changes the URL's search: the box follows it.
  const [shownQ, setShownQ] = useState(query.q);
  if (shownQ !== query.q) {
    setShownQ(query.q);
    setSearch(query.q ?? "");
  }

  const toggleStatus = (status: string) =>
    go({
      status: query.status.includes(status) ? query.status.filter((s) => s !== status) : [...query.status, status],
    });
  const shown = STATUS_ORDER.filter((s) => (statusCounts[s] ?? 0) > 0 || query.status.includes(s));
  return (
    <div className="mb-4 space-y-3">
      <p className="flex flex-wrap items-center gap-x-1 text-sm" aria-label="Sources per status">
        {shown.map((status, i) => (
          <span key={status}>
            {i > 0 && <span className="px-1 text-zinc-400">·</span>}
            <button
              type="button"
              aria-pressed={query.status.includes(status)}
              onClick={() => toggleStatus(status)}
              className={`rounded px-1 hover:underline aria-pressed:bg-zinc-200 aria-pressed:font-semibold dark:aria-pressed:bg-zinc-700 ${
                status === "error" && (statusCounts[status] ?? 0) > 0 ? "text-red-700 dark:text-red-400" : ""
              }`}
            >
              {(statusCounts[status] ?? 0).toLocaleString("en")} {STATUS_LABELS[status] ?? status}
            </button>
          </span>
        ))}
        {(query.status.length > 0 || query.type.length > 0 || query.q) && (
          <button
            type="button"
            className="ml-3 text-zinc-500 underline"
            onClick={() => {
              setSearch("");
              go({ q: undefined, status: [], type: [] });
            }}
          >
            Clear filters
          </button>
        )}
      </p>
      <div className="flex flex-wrap gap-2">
        <input
          type="search"
          aria-label="Search sources by name"
          placeholder="Search by name"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          className={`${inputClass} max-w-xs`}
        />
        <select
          aria-label="Type"
          className={`${inputClass} w-auto`}
          value={query.type[0] ?? ""}
          onChange={(e) => go({ type: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">All types</option>
          {SOURCE_TYPES.map((type) => (
            <option key={type} value={type}>
              {sourceTypeLabel(type)}
            </option>
          ))}
        </select>
        <select
          aria-label="Status"
          className={`${inputClass} w-auto`}
          value={query.status.length === 1 ? query.status[0] : ""}
          onChange={(e) => go({ status: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">All statuses</option>
          {STATUS_ORDER.map((status) => (
            <option key={status} value={status}>
              {STATUS_LABELS[status] ?? status}
            </option>
          ))}
        </select>
        <select
          aria-label="Sort"
          className={`${inputClass} w-auto`}
          value={query.sort}
          onChange={(e) => go({ sort: e.target.value })}
        >
          {Object.entries(SORT_LABELS).map(([sort, label]) => (
            <option key={sort} value={sort}>
              {label}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
