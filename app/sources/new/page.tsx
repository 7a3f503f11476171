import type { Metadata } from "next";
import { ConnectSourceForm } from "@/components/connect-source-form";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { connectData } from "@/lib/dashboard";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Connect a source" };

export default async function ConnectSourcePage({ searchParams }: { searchParams: Promise<{ type?: string }> }) {
  const user = await requireUser();
  const data = await connectData(actorOf(user));
  const { type } = await searchParams;
  return (
    <section className="mx-auto max-w-3xl">
      <h1 className="mb-6 text-2xl font-semibold">Connect a source</h1>
      <ConnectSourceForm {...data} initialType={type} />
    </section>
  );
}
