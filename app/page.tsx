import { AutoRefresh } from "@/components/auto-refresh";
import { SourceList } from "@/components/source-list";
import { dashboardSources } from "@/lib/dashboard";

export const dynamic = "force-dynamic";

export default async function SourcesPage() {
  const sources = await dashboardSources();
  const active = sources.some((s) => s.latestJob?.status === "running" || s.latestJob?.status === "queued");
  return (
    <section>
      <h1 className="mb-6 text-2xl font-semibold">Sources</h1>
      <SourceList sources={sources} />
      <AutoRefresh active={active} />
    </section>
  );
}
