"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { apiFetch } from "@/lib/client/api";
import type { ActivityDto } from "@/lib/jobs/schemas";
import { RelativeTime } from "./relative-time";

/** The header's small summary of queued and running jobs and of the last day's failures. */
export function ActivityIndicator({ initial }: { initial: ActivityDto }) {
  const { data } = useQuery({
    queryKey: ["activity"],
    queryFn: ({ signal }) => apiFetch<ActivityDto>("/api/activity", { signal }),
    initialData: initial,
    refetchInterval: (q) => (q.state.data && q.state.data.queued + q.state.data.running > 0 ? 2000 : 4000),
  });
  const busy = data.running + data.queued > 0;
  const failures = data.recentFailures.length;
  const summary = busy ? `${data.running} running · ${data.queued} queued` : "idle";
  const workers = `${data.workers} ${data.workers === 1 ? "worker" : "workers"} live`;
  return (
    <details className="relative" data-testid="activity">
      <summary
        className="flex cursor-pointer list-none items-center gap-2 rounded-full border border-zinc-200 px-3 py-1 text-xs tabular-nums hover:bg-zinc-100 dark:border-zinc-800 dark:hover:bg-zinc-900"
        aria-label={`Activity: ${summary}${failures ? `, ${failures} failed recently` : ""}`}
      >
        <span aria-hidden className={`h-2 w-2 rounded-full ${busy ? "animate-pulse bg-blue-500" : "bg-zinc-400"}`} />
        <span role="status" aria-live="polite">
          {summary}
        </span>
        {failures > 0 && (
          <span className="rounded-full bg-red-100 px-1.5 text-red-800 dark:bg-red-950 dark:text-red-300">
            {failures} failed
          </span>
        )}
      </summary>
      <div className="absolute right-0 z-20 mt-2 w-72 rounded-lg border border-zinc-200 bg-white p-3 text-xs shadow-lg dark:border-zinc-800 dark:bg-zinc-900">
        <p className="mb-2 font-medium">
          {data.running} running, {data.queued} queued
        </p>
        <p className={`mb-2 ${data.workers === 0 ? "text-red-700 dark:text-red-400" : "text-zinc-500"}`}>{workers}</p>
        {failures === 0 ? (
          <p className="text-zinc-500">No failed syncs in the last day.</p>
        ) : (
          <ul className="space-y-2" aria-label="Recent failures">
            {data.recentFailures.map((f) => (
              <li key={f.jobId}>
                <Link href={`/jobs/${f.jobId}`} className="font-medium text-red-700 hover:underline dark:text-red-400">
                  {f.sourceName}
                </Link>{" "}
                <RelativeTime iso={f.completedAt} fallback="" />
                {f.errorMessage && <p className="line-clamp-2 text-zinc-600 dark:text-zinc-400">{f.errorMessage}</p>}
              </li>
            ))}
          </ul>
        )}
      </div>
    </details>
  );
}
