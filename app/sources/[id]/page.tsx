import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { FileBrowser } from "@/components/file-browser";
import { JobHistory } from "@/components/job-history";
import { SourceOverview } from "@/components/source-overview";
import { SourceSettingsForm } from "@/components/source-settings-form";
import { WebhookEvents } from "@/components/webhook-events";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { sourcePageData } from "@/lib/dashboard";
import { KNOWN_LANGUAGES } from "@/lib/sync/language";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Source" };

const sectionTitle = "mb-3 text-lg font-semibold";

export default async function SourcePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  if (!/^[0-9a-f-]{36}$/i.test(id)) notFound();
  const data = await sourcePageData(actorOf(user), id);
  return (
    <div className="space-y-10">
      <SourceOverview initial={data.source} />
      <section aria-labelledby="files-title">
        <h2 id="files-title" className={sectionTitle}>
          Files
        </h2>
        <FileBrowser sourceId={id} initial={data.files} languages={data.languages} />
      </section>
      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title" className={sectionTitle}>
          Job history
        </h2>
        <JobHistory sourceId={id} initial={data.jobs} />
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title" className={sectionTitle}>
          Webhook events
        </h2>
        <WebhookEvents sourceId={id} initial={data.events} sourceType={data.source.type} />
      </section>
      <section aria-labelledby="settings-title">
        <h2 id="settings-title" className={sectionTitle}>
          Settings
        </h2>
        <SourceSettingsForm source={data.source} languages={KNOWN_LANGUAGES} />
      </section>
    </div>
  );
}
