import type { Metadata, Viewport } from "next";
import Link from "next/link";
import { signOutAction } from "@/app/auth-actions";
import { ActivityIndicator } from "@/components/activity-indicator";
import { NoWorkerBanner } from "@/components/no-worker-banner";
import { Providers } from "@/components/providers";
import { actorOf, currentUser } from "@/lib/auth/current-user";
import { activityData } from "@/lib/dashboard";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Data Connector", template: "%s · Data Connector" },
  description: "Keeps an exact, fresh index of your repositories and folders.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

const navLink = "rounded px-1 py-0.5 hover:text-zinc-900 dark:hover:text-zinc-100";

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  const activity = user ? await activityData(actorOf(user)) : null;
  return (
    <html lang="en">
      <body className="min-h-screen bg-white text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-zinc-900"
        >
          Skip to content
        </a>
        <Providers>
          <header className="flex flex-wrap items-center gap-x-6 gap-y-2 border-b border-zinc-200 px-4 py-3 text-sm sm:px-6 dark:border-zinc-800">
            <Link href="/" className="text-base font-semibold">
              Data Connector
            </Link>
            {user && activity && (
              <>
                <nav aria-label="Main" className="flex items-center gap-4 text-zinc-600 dark:text-zinc-400">
                  <Link href="/" className={navLink}>
                    Sources
                  </Link>
                  <Link href="/jobs" className={navLink}>
                    Jobs
                  </Link>
                  <Link href="/settings" className={navLink}>
                    Settings
                  </Link>
                  {/* A route handler's HTML, not an app page: a full navigation, not <Link>. */}
                  {/* eslint-disable-next-line @next/next/no-html-link-for-pages */}
                  <a href="/api/docs" className={`${navLink} hidden sm:inline`}>
                    API reference
                  </a>
                </nav>
                <div className="ml-auto flex items-center gap-4 text-zinc-600 dark:text-zinc-400">
                  <ActivityIndicator initial={activity} />
                  <span className="hidden lg:inline">{user.email}</span>
                  <form action={signOutAction}>
                    <button type="submit" className={navLink}>
                      Sign out
                    </button>
                  </form>
                </div>
              </>
            )}
          </header>
          {user && activity && <NoWorkerBanner initial={activity} />}
          <main id="main" className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
