import type { Metadata } from "next";
import Link from "next/link";
import { JobsFilters } from "@/components/jobs-filters";
import { jobsHref } from "@/components/jobs-url";
import { pagingHrefs } from "@/components/list-url";
import { JobsTable } from "@/components/jobs-table";
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
        <JobsTable jobs={jobs} />
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
