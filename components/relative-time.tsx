"use client";

import { formatExact, formatRelative } from "@/lib/format";
import { useNow } from "./use-now";

/** "3 minutes ago", with the exact time on hover (and for screen readers through the title). */
export function RelativeTime({ iso, fallback = "never" }: { iso: string | null | undefined; fallback?: string }) {
  const now = useNow(15_000);
  if (!iso) return <span className="text-zinc-500">{fallback}</span>;
  const exact = formatExact(iso);
  return (
    <time dateTime={iso} title={exact} suppressHydrationWarning className="when">
      {formatRelative(iso, now)}
    </time>
  );
}
