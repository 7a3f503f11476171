"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { apiFetch } from "@/lib/client/api";
import { formatDuration, jobDurationMs } from "@/lib/format";
import type { JobDto } from "@/lib/sources/schemas";
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
      <div className="table-frame">
        <table className="data-table min-w-[44rem]" aria-label="Job history">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Type</th>
              <th scope="col">Trigger</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col" className="num">
                Indexed / unchanged / failed
              </th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => {
              const duration = jobDurationMs(j, now);
              return (
                <tr key={j.id} data-testid="job-row">
                  <td className="whitespace-nowrap">
                    <Link href={`/jobs/${j.id}`} className="link">
                      <RelativeTime iso={j.startedAt ?? j.createdAt} />
                    </Link>
                  </td>
                  <td>{j.type}</td>
                  <td>{j.trigger}</td>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td className="num">{duration === null ? "—" : formatDuration(duration)}</td>
                  <td className="num">
                    {j.filesProcessed} / {j.filesSkipped} / {j.filesFailed}
                  </td>
                  <td className="error-text max-w-xs truncate" title={j.errorMessage ?? undefined}>
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
