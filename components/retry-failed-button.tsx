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
        className="btn-small"
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
        <span role="alert" className="error-text">
          {error}
        </span>
      )}
    </>
  );
}
