import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { SetupForm } from "@/components/setup-form";
import { hasAnyUser } from "@/lib/auth/first-admin";
import { setupAllowed } from "@/lib/auth/setup-access";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

// First run only: once any user exists this page sends everyone to sign-in. Until then it
// answers only from this machine (loopback), or with the SETUP_TOKEN `npm start` printed.
export default async function SetupPage({ searchParams }: { searchParams: Promise<Record<string, unknown>> }) {
  if (await hasAnyUser(getDb())) redirect("/sign-in");
  const { token } = await searchParams;
  const setupToken = typeof token === "string" ? token : null;
  if (!setupAllowed(await headers(), setupToken)) {
    return (
      <section className="mx-auto max-w-sm">
        <h1 className="mb-2 text-2xl font-semibold">Set up Data Connector</h1>
        <p role="alert" className="text-sm text-zinc-600 dark:text-zinc-400">
          First-run setup is only open from the machine the app runs on. Open it there, use the setup link{" "}
          <code>npm start</code> printed (it carries SETUP_TOKEN), or set ADMIN_EMAIL and ADMIN_PASSWORD.
        </p>
      </section>
    );
  }
  return (
    <section className="mx-auto max-w-sm">
      <h1 className="mb-2 text-2xl font-semibold">Set up Data Connector</h1>
      <p className="mb-6 text-sm text-zinc-600 dark:text-zinc-400">
        Create the first admin account. You can add more users later from the command line.
      </p>
      <SetupForm token={setupToken} />
    </section>
  );
}
