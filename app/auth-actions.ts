"use server";

import { AuthError, CredentialsSignin } from "next-auth";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { signIn, signOut } from "@/lib/auth/auth";
import { revokeCurrentSession } from "@/lib/auth/current-user";
import { createFirstAdmin, newUserInput } from "@/lib/auth/first-admin";
import { setupAllowed } from "@/lib/auth/setup-access";

function field(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}

/** Email and password; a failure goes back to the sign-in page with a code, never with the input. */
export async function signInWithPasswordAction(formData: FormData): Promise<void> {
  try {
    await signIn("credentials", {
      email: field(formData, "email"),
      password: field(formData, "password"),
      redirectTo: "/",
    });
  } catch (err) {
    // A successful sign-in "throws" Next.js's redirect, which must pass through.
    if (err instanceof CredentialsSignin) redirect(`/sign-in?error=${encodeURIComponent(err.code)}`);
    if (err instanceof AuthError) redirect(`/sign-in?error=${encodeURIComponent(err.type)}`);
    throw err;
  }
}

export async function signInWithProviderAction(formData: FormData): Promise<void> {
  const provider = field(formData, "provider");
  if (!["github", "gitlab", "google"].includes(provider)) redirect("/sign-in?error=provider");
  await signIn(provider, { redirectTo: "/" });
}

export async function signOutAction(): Promise<void> {
  await revokeCurrentSession();
  await signOut({ redirectTo: "/sign-in" });
}

export type SetupState = { error?: string };

/** First run: creates the first admin (only while there is no user) and signs them in. */
export async function setupAction(_prev: SetupState, formData: FormData): Promise<SetupState> {
  if (!setupAllowed(await headers(), field(formData, "token") || null)) {
    return { error: "First-run setup is only open from this machine, or with the setup link `npm start` printed." };
  }
  const password = field(formData, "password");
  if (password !== field(formData, "confirm")) return { error: "The two passwords differ." };
  const parsed = newUserInput.safeParse({ email: field(formData, "email").trim(), password });
  if (!parsed.success) return { error: parsed.error.issues.map((i) => i.message).join(" ") };
  const admin = await createFirstAdmin(parsed.data);
  if (!admin) redirect("/sign-in?error=setup_done");
  await signIn("credentials", { email: parsed.data.email, password, redirectTo: "/" });
  return {};
}
