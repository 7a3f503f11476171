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
        <div className="table-frame">
          <table className="data-table min-w-[48rem]" aria-label="Jobs">
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">Source</th>
                <th scope="col">Type</th>
                <th scope="col">Trigger</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Indexed / failed
                </th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} data-testid="job-row">
                  <td className="whitespace-nowrap">
                    <Link href={`/jobs/${j.id}`} className="link">
                      <RelativeTime iso={j.createdAt} />
                    </Link>
                  </td>
                  <td className="max-w-[14rem] truncate">
                    <Link href={`/sources/${j.sourceId}`} className="link">
                      {j.sourceName}
                    </Link>
                  </td>
                  <td>{j.type}</td>
                  <td>{j.trigger}</td>
                  <td>
                    <StatusBadge status={j.status} testId="job-status" />
                  </td>
                  <td className="num">
                    {j.filesProcessed} / {j.filesFailed}
                  </td>
                  <td>
                    <div className="flex items-center gap-2">
                      {(j.status === "failed" || j.filesFailed > 0) && (
                        <Link href={`/jobs/${j.id}`} className="error-text max-w-xs truncate underline">
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
