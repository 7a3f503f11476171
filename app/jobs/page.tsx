import type { Metadata } from "next";
import Link from "next/link";
import { JobsFilters } from "@/components/jobs-filters";
import { jobsHref } from "@/components/jobs-url";
import { pagingHrefs } from "@/components/list-url";
import { RelativeTime } from "@/components/relative-time";
import { RetryFailedButton } from "@/components/retry-failed-button";
import { StatusBadge } from "@/components/status-badge";
import { secondaryButtonClass } from "@/components/ui";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { dashboardJobs, jobsPageQuery } from "@/lib/dashboard";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Jobs" };

/** Every job across the sources the user may see, newest first, filtered and paged by its URL. */
export default async function JobsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const user = await requireUser();
  const query = jobsPageQuery(await searchParams);
  const { jobs, nextCursor, source } = await dashboardJobs(actorOf(user), query);
  const paging = pagingHrefs((p) => jobsHref({ ...query, ...p }), query, nextCursor);
  return (
    <section className="space-y-4">
      <h1 className="text-2xl font-semibold">Jobs</h1>
      <JobsFilters query={query} source={source} />
      {jobs.length === 0 ? (
        <p className="rounded-lg border border-dashed border-zinc-300 p-8 text-center text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
          No job matches these filters.
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
          <table className="w-full min-w-[48rem] text-left text-sm" aria-label="Jobs">
            <thead className="bg-zinc-50 text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">
                  Queued
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Source
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
                  Indexed / failed
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Error
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-zinc-100 dark:divide-zinc-900">
              {jobs.map((j) => (
                <tr key={j.id} data-testid="job-row">
                  <td className="whitespace-nowrap px-3 py-1.5 text-xs">
                    <Link href={`/jobs/${j.id}`} className="hover:underline">
                      <RelativeTime iso={j.createdAt} />
                    </Link>
                  </td>
                  <td className="max-w-[14rem] truncate px-3 py-1.5 text-xs">
                    <Link href={`/sources/${j.sourceId}`} className="hover:underline">
                      {j.sourceName}
                    </Link>
                  </td>
                  <td className="px-3 py-1.5 text-xs">{j.type}</td>
                  <td className="px-3 py-1.5 text-xs">{j.trigger}</td>
                  <td className="px-3 py-1.5">
                    <StatusBadge status={j.status} testId="job-status" />
                  </td>
                  <td className="px-3 py-1.5 text-right text-xs tabular-nums">
                    {j.filesProcessed} / {j.filesFailed}
                  </td>
                  <td className="px-3 py-1.5 text-xs">
                    <div className="flex items-center gap-2">
                      {(j.status === "failed" || j.filesFailed > 0) && (
                        <Link
                          href={`/jobs/${j.id}`}
                          className="max-w-xs truncate text-red-700 underline dark:text-red-400"
                        >
                          {j.errorMessage ?? `${j.filesFailed} failed files`}
                        </Link>
                      )}
                      {j.filesFailed > 0 && j.status !== "queued" && j.status !== "running" && (
                        <RetryFailedButton jobId={j.id} />
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Pages" className="flex items-center justify-between text-sm">
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
    </section>
  );
}
