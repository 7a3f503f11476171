"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { apiFetch } from "@/lib/client/api";
import type { SourceListRow } from "@/lib/sources/schemas";
import { ProgressBar } from "./progress-bar";
import { RelativeTime } from "./relative-time";
import { sourceTypeLabel } from "@/lib/providers";
import { StatusBadge } from "./status-badge";
import { VerifyStatus } from "./verify-status";
import { pagingHrefs } from "./list-url";
import type { SourcesQuery } from "./sources-toolbar";
import { sourcesHref } from "./sources-toolbar";
import { buttonClass, dangerButtonClass, errorAlertClass, okAlertClass, secondaryButtonClass } from "./ui";

const isActive = (s: SourceListRow) => s.latestJob?.status === "running" || s.latestJob?.status === "queued";

type SourcesPage = { sources: SourceListRow[]; nextCursor: string | null };

/**
 * One page of the sources list: server-rendered first, then polled (fast while something
 * syncs). The poll asks for this page's query only, so a large list costs what one page costs.
 */
export function SourcesLive({
  initial,
  apiQuery,
  query,
  filtered,
}: {
  initial: SourcesPage;
  apiQuery: string;
  query: SourcesQuery;
  filtered: boolean;
}) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const queryKey = ["sources", apiQuery];
  const live = useQuery({
    queryKey,
    queryFn: ({ signal }) => apiFetch<SourcesPage>(`/api/sources?${apiQuery}`, { signal }),
    initialData: initial,
    refetchInterval: (q) => (q.state.data?.sources.some(isActive) ? 1500 : 10_000),
  });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const sources = live.data.sources;
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ["sources"] });
    router.refresh();
  };
  if (sources.length === 0 && !query.cursor) {
    return filtered ? (
      <p className="rounded-lg border border-dashed border-zinc-300 p-8 text-center text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
        No source matches these filters.
      </p>
    ) : (
      <EmptyState />
    );
  }
  const visibleIds = sources.map((s) => s.id).filter((id) => selected.has(id));
  const allChecked = sources.length > 0 && visibleIds.length === sources.length;
  const toggle = (id: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const paging = pagingHrefs((p) => sourcesHref({ ...query, ...p }), query, live.data.nextCursor);
  return (
    <div>
      {live.isRefetchError && (
        <p role="alert" className={`mb-3 ${errorAlertClass}`}>
          Could not refresh: {live.error.message}
        </p>
      )}
      <BulkActions
        sources={sources.filter((s) => selected.has(s.id))}
        onDone={async (removed) => {
          setSelected((prev) => new Set([...prev].filter((id) => !removed.includes(id))));
          await refresh();
        }}
      />
      <div className="flex items-center gap-3 border-x border-t border-zinc-200 px-4 py-2 text-sm dark:border-zinc-800 rounded-t-lg">
        <input
          type="checkbox"
          aria-label="Select all sources on this page"
          checked={allChecked}
          onChange={() => setSelected(allChecked ? new Set() : new Set(sources.map((s) => s.id)))}
        />
        <span className="text-zinc-500">{visibleIds.length > 0 ? `${visibleIds.length} selected` : "Select"}</span>
      </div>
      <ul
        className="divide-y divide-zinc-200 rounded-b-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        aria-label="Sources"
      >
        {sources.map((source) => (
          <SourceItem
            key={source.id}
            source={source}
            checked={selected.has(source.id)}
            onToggle={() => toggle(source.id)}
          />
        ))}
      </ul>
      <nav aria-label="Pages" className="mt-3 flex items-center justify-between text-sm">
        {paging.previous ? (
          <Link href={paging.previous} className={secondaryButtonClass}>
            ← Previous
          </Link>
        ) : (
          <span />
        )}
        {paging.next ? (
          <Link href={paging.next} className={secondaryButtonClass}>
            Next →
          </Link>
        ) : (
          <span />
        )}
      </nav>
    </div>
  );
}

/** Sync or delete the selected rows; deleting asks first. */
function BulkActions({ sources, onDone }: { sources: SourceListRow[]; onDone: (removed: string[]) => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const run = async (verb: "Sync" | "Delete") => {
    setBusy(true);
    setMessage(null);
    const results = await Promise.allSettled(
      sources.map((s) =>
        verb === "Sync"
          ? apiFetch(`/api/sources/${s.id}/sync`, { method: "POST", body: {} })
          : apiFetch(`/api/sources/${s.id}`, { method: "DELETE" }),
      ),
    );
    const failed = results.filter((r) => r.status === "rejected").length;
    const done = sources.filter((_, i) => results[i]?.status === "fulfilled").map((s) => s.id);
    const what = verb === "Sync" ? "Sync queued for" : "Deleted";
    setMessage({
      ok: failed === 0,
      text:
        `${what} ${done.length} source${done.length === 1 ? "" : "s"}.` +
        (failed
          ? ` ${failed} failed: ${(results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason.message}`
          : ""),
    });
    await onDone(verb === "Delete" ? done : []);
    setBusy(false);
  };
  return (
    <div className="mb-3 space-y-2">
      <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label="Bulk actions">
        <button
          type="button"
          className={secondaryButtonClass}
          disabled={busy || sources.length === 0}
          onClick={() => run("Sync")}
        >
          Sync selected
        </button>
        <button
          type="button"
          className={dangerButtonClass}
          disabled={busy || sources.length === 0}
          onClick={() => dialog.current?.showModal()}
        >
          Delete selected…
        </button>
      </div>
      {message && (
        <p role="status" className={message.ok ? okAlertClass : errorAlertClass}>
          {message.text}
        </p>
      )}
      <dialog
        ref={dialog}
        aria-labelledby="bulk-delete-title"
        className="m-auto max-w-md rounded-lg border border-zinc-200 p-6 backdrop:bg-black/40 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-100"
      >
        <h2 id="bulk-delete-title" className="text-lg font-semibold">
          Delete {sources.length} source{sources.length === 1 ? "" : "s"}?
        </h2>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          Their indexed files are removed and the pipeline is told they are gone. Files at the providers are not
          touched.
        </p>
        <ul className="mt-3 max-h-40 overflow-auto text-sm">
          {sources.map((s) => (
            <li key={s.id} className="truncate">
              {s.name}
            </li>
          ))}
        </ul>
        <div className="mt-5 flex justify-end gap-2">
          <button type="button" className={secondaryButtonClass} onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button
            type="button"
            className={dangerButtonClass}
            disabled={busy}
            onClick={async () => {
              dialog.current?.close();
              await run("Delete");
            }}
          >
            Delete {sources.length} source{sources.length === 1 ? "" : "s"}
          </button>
        </div>
      </dialog>
    </div>
  );
}

function SourceItem({ source, checked, onToggle }: { source: SourceListRow; checked: boolean; onToggle: () => void }) {
  const job = source.latestJob;
  return (
    <li className="source-row" data-testid="source-row">
      <input
        type="checkbox"
        aria-label={`Select ${source.name}`}
        checked={checked}
        onChange={onToggle}
        className="mt-1"
      />
      <div className="min-w-0">
        <Link href={`/sources/${source.id}`} className="link block truncate font-medium">
          {source.name}
        </Link>
        <div className="muted mt-1 flex flex-wrap items-center gap-2 text-xs">
          <span>{sourceTypeLabel(source.type)}</span>
          <StatusBadge status={source.status} testId="source-status" />
        </div>
      </div>
      {/* Fixed height: the bar and the error line take the same room, so polling never moves the row. */}
      <div className="flex h-10 min-w-0 items-center">
        {job && (job.status === "running" || job.status === "queued") ? (
          <ProgressBar job={job} label={`Sync progress of ${source.name}`} />
        ) : job?.status === "failed" && job.errorMessage ? (
          <p className="error-text line-clamp-2 text-xs">
            Last sync failed:{" "}
            <Link href={`/jobs/${job.id}`} className="underline">
              {job.errorMessage}
            </Link>
          </p>
        ) : null}
      </div>
      <div className="muted text-xs tabular-nums md:text-right">
        <p data-testid="file-count">{(source.fileCount ?? 0).toLocaleString("en")} files</p>
        <p>
          last sync <RelativeTime iso={source.lastSyncAt} />
        </p>
        <p>
          <VerifyStatus verifiedAt={source.verifiedAt} drift={source.drift} status={source.status} />
        </p>
      </div>
    </li>
  );
}

function EmptyState() {
  return (
    <div className="rounded-lg border border-dashed border-zinc-300 p-8 text-center dark:border-zinc-700">
      <p className="text-lg font-medium">No sources yet</p>
      <p className="mx-auto mt-2 max-w-md text-sm text-zinc-600 dark:text-zinc-400">
        Connect a repository, a Drive or Dropbox folder, or a folder on this machine. Its files are indexed and kept
        fresh, and every change is handed to the pipeline.
      </p>
      <Link href="/sources/new" className={`${buttonClass} mt-6`}>
        Connect your first source
      </Link>
      <p className="mt-6 text-xs text-zinc-500">
        Or through the API: <code>POST /api/sources</code> with an API token from{" "}
        <Link href="/settings" className="underline">
          Settings
        </Link>
        .
      </p>
    </div>
  );
}
