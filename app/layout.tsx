import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "Data Connector",
  description: "Keeps an exact, fresh index of your repositories and folders.",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-white text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        <header className="border-b border-zinc-200 px-6 py-4 dark:border-zinc-800">
          <span className="font-semibold">Data Connector</span>
        </header>
        <main className="mx-auto max-w-5xl px-6 py-8">{children}</main>
      </body>
    </html>
  );
}
