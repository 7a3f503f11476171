"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { apiFetch, ApiError } from "@/lib/client/api";

/** Queues a sync of the job's failed files, then opens the new job. */
export function RetryFailedButton({ jobId }: { jobId: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        className="whitespace-nowrap rounded border border-zinc-300 px-2 py-0.5 text-xs hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const res = await apiFetch<{ jobId: string }>(`/api/jobs/${jobId}/retry-failed`, { method: "POST" });
            router.push(`/jobs/${res.jobId}`);
          } catch (err) {
            setError(err instanceof ApiError ? err.message : "The request failed.");
            setBusy(false);
          }
        }}
      >
        Retry failed files
      </button>
      {error && (
        <span role="alert" className="text-red-700 dark:text-red-400">
          {error}
        </span>
      )}
    </>
  );
}
