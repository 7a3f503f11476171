import { redirect } from "next/navigation";
import { signInWithPasswordAction, signInWithProviderAction } from "@/app/auth-actions";
import { buttonClass, errorAlertClass, inputClass, secondaryButtonClass } from "@/components/ui";
import { currentUser } from "@/lib/auth/current-user";
import { hasAnyUser } from "@/lib/auth/first-admin";
import { configuredSignInProviders } from "@/lib/auth/oauth-sign-in";
import { getDb } from "@/lib/db/client";

export const dynamic = "force-dynamic";

const MESSAGES: Record<string, string> = {
  invalid: "Wrong email or password.",
  credentials: "Wrong email or password.",
  rate_limited: "Too many sign-in attempts for this account or from this address. Wait up to 30 seconds and try again.",
  AccessDenied:
    "That account may not sign in here. An admin must first create a user with the account's verified email.",
  OAuthCallbackError: "The provider did not complete the sign-in. Try again.",
  setup_done: "The first admin already exists. Sign in instead.",
};
const LABELS = { github: "GitHub", gitlab: "GitLab", google: "Google" } as const;

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ error?: string; code?: string }>;
}) {
  if (!(await hasAnyUser(getDb()))) redirect("/setup");
  if (await currentUser()) redirect("/");
  const query = await searchParams;
  // next-auth's own endpoint redirects with `error=CredentialsSignin&code=<ours>`; our action with `error=<ours>`.
  const error = query.error === "CredentialsSignin" ? (query.code ?? "invalid") : query.error;
  const providers = configuredSignInProviders();
  return (
    <section className="mx-auto max-w-sm">
      <h1 className="mb-6 text-2xl font-semibold">Sign in</h1>
      {error && (
        <p role="alert" className={`mb-4 ${errorAlertClass}`}>
          {Object.hasOwn(MESSAGES, error) ? MESSAGES[error] : "Sign-in failed. Try again."}
        </p>
      )}
      <form action={signInWithPasswordAction} className="space-y-4">
        <label className="block text-sm">
          <span className="mb-1 block font-medium">Email</span>
          <input name="email" type="email" autoComplete="username" required className={inputClass} />
        </label>
        <label className="block text-sm">
          <span className="mb-1 block font-medium">Password</span>
          <input name="password" type="password" autoComplete="current-password" required className={inputClass} />
        </label>
        <button type="submit" className={`${buttonClass} w-full`}>
          Sign in
        </button>
      </form>
      {providers.length > 0 && (
        <div className="mt-6 space-y-2 border-t border-zinc-200 pt-6 dark:border-zinc-800">
          {providers.map((p) => (
            <form key={p} action={signInWithProviderAction}>
              <input type="hidden" name="provider" value={p} />
              <button type="submit" className={`${secondaryButtonClass} w-full`}>
                Sign in with {LABELS[p]}
              </button>
            </form>
          ))}
        </div>
      )}
    </section>
  );
}
