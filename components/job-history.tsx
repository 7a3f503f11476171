"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { apiFetch } from "@/lib/client/api";
import { formatDuration, jobDurationMs } from "@/lib/format";
import type { JobDto } from "@/lib/sources/serialize";
import { RelativeTime } from "./relative-time";
import { StatusBadge } from "./status-badge";
import { useNow } from "./use-now";
import { errorAlertClass } from "./ui";

const active = (jobs: JobDto[]) => jobs.some((j) => j.status === "running" || j.status === "queued");

/** The source's latest jobs: type, trigger, status, duration, counts and error. */
export function JobHistory({ sourceId, initial }: { sourceId: string; initial: JobDto[] }) {
  const now = useNow(1000);
  const query = useQuery({
    queryKey: ["jobs", sourceId],
    queryFn: ({ signal }) => apiFetch<{ jobs: JobDto[] }>(`/api/jobs?sourceId=${sourceId}&limit=20`, { signal }),
    initialData: { jobs: initial },
    refetchInterval: (q) => (q.state.data && active(q.state.data.jobs) ? 2000 : 15_000),
  });
  const jobs = query.data.jobs;
  if (jobs.length === 0) return <p className="text-sm text-zinc-500">No jobs yet.</p>;
  return (
    <div className="space-y-2">
      {query.isRefetchError && (
        <p role="alert" className={errorAlertClass}>
          Could not refresh: {query.error.message}
        </p>
      )}
      <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
        <table className="w-full min-w-[44rem] text-left text-sm" aria-label="Job history">
          <thead className="bg-zinc-50 text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
            <tr>
              <th scope="col" className="px-3 py-2 font-medium">
                Started
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                Type
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                Trigger
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                Status
              </th>
              <th scope="col" className="px-3 py-2 text-right font-medium">
                Duration
              </th>
              <th scope="col" className="px-3 py-2 text-right font-medium">
                Indexed / unchanged / failed
              </th>
              <th scope="col" className="px-3 py-2 font-medium">
                Error
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100 dark:divide-zinc-900">
            {jobs.map((j) => {
              const duration = jobDurationMs(j, now);
              return (
                <tr key={j.id} data-testid="job-row">
                  <td className="whitespace-nowrap px-3 py-1.5 text-xs">
                    <Link href={`/jobs/${j.id}`} className="hover:underline">
                      <RelativeTime iso={j.startedAt ?? j.createdAt} />
                    </Link>
                  </td>
                  <td className="px-3 py-1.5 text-xs">{j.type}</td>
                  <td className="px-3 py-1.5 text-xs">{j.trigger}</td>
                  <td className="px-3 py-1.5">
                    <StatusBadge status={j.status} />
                  </td>
                  <td className="px-3 py-1.5 text-right text-xs tabular-nums">
                    {duration === null ? "—" : formatDuration(duration)}
                  </td>
                  <td className="px-3 py-1.5 text-right text-xs tabular-nums">
                    {j.filesProcessed} / {j.filesSkipped} / {j.filesFailed}
                  </td>
                  <td
                    className="max-w-xs truncate px-3 py-1.5 text-xs text-red-700 dark:text-red-400"
                    title={j.errorMessage ?? undefined}
                  >
                    {j.errorMessage ?? ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
