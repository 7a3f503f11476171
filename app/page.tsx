import { AutoRefresh } from "@/components/auto-refresh";
import { SourceList } from "@/components/source-list";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { dashboardSources } from "@/lib/dashboard";

export const dynamic = "force-dynamic";

export default async function SourcesPage() {
  const user = await requireUser();
  const sources = await dashboardSources(actorOf(user));
  const active = sources.some((s) => s.latestJob?.status === "running" || s.latestJob?.status === "queued");
  return (
    <section>
      <h1 className="mb-6 text-2xl font-semibold">Sources</h1>
      <SourceList sources={sources} />
      <AutoRefresh active={active} />
    </section>
  );
}
