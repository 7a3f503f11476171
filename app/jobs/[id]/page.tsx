import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { JobView } from "@/components/job-view";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { jobPageData } from "@/lib/dashboard";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Job" };

export default async function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser();
  const { id } = await params;
  if (!/^[0-9a-f-]{36}$/i.test(id)) notFound();
  const data = await jobPageData(actorOf(user), id);
  return <JobView {...data} />;
}
