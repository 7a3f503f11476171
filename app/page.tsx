import Link from "next/link";
import { SourcesLive } from "@/components/sources-live";
import { buttonClass } from "@/components/ui";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { dashboardSources } from "@/lib/dashboard";

export const dynamic = "force-dynamic";

/** Rows rendered on the server; a longer list gets the rest from its first poll. */
const FIRST_PAINT = 100;

export default async function SourcesPage() {
  const user = await requireUser();
  const sources = await dashboardSources(actorOf(user));
  return (
    <section>
      <div className="mb-6 flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">Sources</h1>
        {sources.length > 0 && (
          <Link href="/sources/new" className={buttonClass}>
            Connect a source
          </Link>
        )}
      </div>
      <SourcesLive initial={sources.slice(0, FIRST_PAINT)} total={sources.length} />
    </section>
  );
}
