"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { apiFetch } from "@/lib/client/api";
import type { JobDto, SourceDto } from "@/lib/sources/serialize";
import { ProgressBar } from "./progress-bar";
import { RelativeTime } from "./relative-time";
import { PROVIDER_LABELS, StatusBadge } from "./status-badge";
import { VerifyStatus } from "./verify-status";
import { buttonClass, errorAlertClass } from "./ui";

export type SourceRow = SourceDto & { latestJob?: NonNullable<SourceDto["latestJob"]> | null; fileCount?: number };

/** What a row of the list shows: the page sends only this, so 500 sources stay a light page. */
export type SourceListRow = Pick<SourceDto, "id" | "type" | "name" | "status" | "lastSyncAt"> &
  Partial<Pick<SourceDto, "verifiedAt" | "drift">> & {
    fileCount?: number;
    latestJob?: Pick<
      JobDto,
      | "id"
      | "status"
      | "progress"
      | "filesTotal"
      | "filesProcessed"
      | "filesSkipped"
      | "filesFailed"
      | "errorMessage"
      | "detail"
      | "startedAt"
    > | null;
  };

const isActive = (s: SourceListRow) => s.latestJob?.status === "running" || s.latestJob?.status === "queued";

/** The sources list: server-rendered first, then polled (fast while something syncs). */
export function SourcesLive({ initial, total }: { initial: SourceListRow[]; total: number }) {
  const partial = initial.length < total;
  const query = useQuery({
    queryKey: ["sources"],
    queryFn: ({ signal }) => apiFetch<{ sources: SourceListRow[] }>("/api/sources", { signal }),
    initialData: { sources: initial },
    // A long list is painted from its first rows; the rest arrive with the first poll, at once.
    initialDataUpdatedAt: partial ? 0 : undefined,
    refetchInterval: (q) => (q.state.data?.sources.some(isActive) ? 1500 : 10_000),
  });
  const sources = query.data.sources;
  if (sources.length === 0) return <EmptyState />;
  return (
    <div>
      {query.isRefetchError && (
        <p role="alert" className={`mb-3 ${errorAlertClass}`}>
          Could not refresh: {query.error.message}
        </p>
      )}
      <ul
        className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        aria-label="Sources"
      >
        {sources.map((source) => (
          <SourceItem key={source.id} source={source} />
        ))}
      </ul>
      {sources.length < total && (
        <p role="status" className="mt-3 text-sm text-zinc-500">
          Loading the other {total - sources.length} sources…
        </p>
      )}
    </div>
  );
}

function SourceItem({ source }: { source: SourceListRow }) {
  const job = source.latestJob;
  return (
    <li className="grid gap-x-6 gap-y-2 p-4 md:grid-cols-[minmax(0,2fr)_minmax(0,3fr)_auto]" data-testid="source-row">
      <div className="min-w-0">
        <Link
          href={`/sources/${source.id}`}
          className="block truncate font-medium hover:underline focus-visible:underline"
        >
          {source.name}
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
          <span>{PROVIDER_LABELS[source.type] ?? source.type}</span>
          <StatusBadge status={source.status} testId="source-status" />
        </div>
      </div>
      {/* Fixed height: the bar and the error line take the same room, so polling never moves the row. */}
      <div className="flex h-10 min-w-0 items-center">
        {job && (job.status === "running" || job.status === "queued") ? (
          <ProgressBar job={job} label={`Sync progress of ${source.name}`} />
        ) : job?.status === "failed" && job.errorMessage ? (
          <p className="line-clamp-2 text-xs text-red-700 dark:text-red-400">
            Last sync failed:{" "}
            <Link href={`/jobs/${job.id}`} className="underline">
              {job.errorMessage}
            </Link>
          </p>
        ) : null}
      </div>
      <div className="text-xs tabular-nums text-zinc-600 md:text-right dark:text-zinc-400">
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
