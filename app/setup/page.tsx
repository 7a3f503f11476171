import { redirect } from "next/navigation";
import { SetupForm } from "@/components/setup-form";
import { hasAnyUser } from "@/lib/auth/first-admin";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

// First run only: once any user exists this page sends everyone to sign-in.
export default async function SetupPage() {
  if (await hasAnyUser(getDb())) redirect("/sign-in");
  return (
    <section className="mx-auto max-w-sm">
      <h1 className="mb-2 text-2xl font-semibold">Set up Data Connector</h1>
      <p className="mb-6 text-sm text-zinc-600 dark:text-zinc-400">
        Create the first admin account. You can add more users later from the command line.
      </p>
      <SetupForm />
    </section>
  );
}
