import Link from "next/link";
import { SourcesLive } from "@/components/sources-live";
import { SourcesToolbar } from "@/components/sources-toolbar";
import { buttonClass } from "@/components/ui";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { dashboardSources, sourcesApiQuery, sourcesPageQuery } from "@/lib/dashboard";

export const dynamic = "force-dynamic";

export default async function SourcesPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const user = await requireUser();
  const query = sourcesPageQuery(await searchParams);
  const page = await dashboardSources(actorOf(user), query);
  const total = Object.values(page.statusCounts).reduce((a, b) => a + b, 0);
  const filtered = Boolean(query.q || query.type.length || query.status.length);
  return (
    <section>
      <div className="mb-6 flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Sources</h1>
        {(total > 0 || filtered) && (
          <Link href="/sources/new" className={buttonClass}>
            Connect a source
          </Link>
        )}
      </div>
      {(total > 0 || filtered) && <SourcesToolbar query={query} statusCounts={page.statusCounts} />}
      <SourcesLive
        // A new query is a new list: selection and polling start over.
        key={sourcesApiQuery(query)}
        apiQuery={sourcesApiQuery(query)}
        initial={page}
        query={query}
        filtered={filtered}
      />
    </section>
  );
}
