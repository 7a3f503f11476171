import type { Metadata } from "next";
import Link from "next/link";
import { signOutAction } from "@/app/auth-actions";
import { currentUser } from "@/lib/auth/current-user";
import "./globals.css";

export const metadata: Metadata = {
  title: "Data Connector",
  description: "Keeps an exact, fresh index of your repositories and folders.",
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  return (
    <html lang="en">
      <body className="min-h-screen bg-white text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        <header className="flex items-center gap-6 border-b border-zinc-200 px-6 py-4 text-sm dark:border-zinc-800">
          <Link href="/" className="text-base font-semibold">
            Data Connector
          </Link>
          {user && (
            <nav className="flex flex-1 items-center gap-4 text-zinc-600 dark:text-zinc-400">
              <Link href="/" className="hover:text-zinc-900 dark:hover:text-zinc-100">
                Sources
              </Link>
              <Link href="/settings" className="hover:text-zinc-900 dark:hover:text-zinc-100">
                Settings
              </Link>
              <a href="/api/openapi.json" className="hover:text-zinc-900 dark:hover:text-zinc-100">
                API reference
              </a>
              <span className="ml-auto">{user.email}</span>
              <form action={signOutAction}>
                <button type="submit" className="hover:text-zinc-900 dark:hover:text-zinc-100">
                  Sign out
                </button>
              </form>
            </nav>
          )}
        </header>
        <main className="mx-auto max-w-5xl px-6 py-8">{children}</main>
      </body>
    </html>
  );
}
