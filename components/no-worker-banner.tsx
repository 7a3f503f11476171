"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/client/api";
import type { ActivityDto } from "@/lib/jobs/schemas";

/** Shown under the header while no worker heartbeat is under a minute old (same query as the activity indicator). */
export function NoWorkerBanner({ initial }: { initial: ActivityDto }) {
  const { data } = useQuery({
    queryKey: ["activity"],
    queryFn: ({ signal }) => apiFetch<ActivityDto>("/api/activity", { signal }),
    initialData: initial,
  });
  if (data.workers > 0) return null;
  return (
    <div
      role="alert"
      data-testid="no-worker-banner"
      className="border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-900 sm:px-6 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-200"
    >
      <strong>No worker is running: syncs are queued but nothing processes them.</strong> Start one with{" "}
      <code>npm run worker</code> (or <code>npm start</code>, which runs one beside the web server).
    </div>
  );
}
