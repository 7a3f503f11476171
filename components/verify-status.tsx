"use client";

import { formatAgo, formatExact } from "@/lib/format";
import { useNow } from "./use-now";

/**
 * What the last verify found: "Verified exact 3 h ago", or "Drift: 4 files, repairing" (a
 * verify that finds drift queues the full sync that repairs it; a source in error, whose
 * syncs fail or are held back, is not said to be repairing).
 */
export function VerifyStatus({
  verifiedAt,
  drift,
  status,
}: {
  verifiedAt?: string | null;
  drift?: number | null;
  status?: string;
}) {
  const now = useNow(15_000);
  if (!verifiedAt || drift === null || drift === undefined)
    return (
      <span className="text-zinc-500" data-testid="verify-status">
        Not verified yet
      </span>
    );
  if (drift > 0)
    return (
      <span className="warn-text" data-testid="verify-status" title={formatExact(verifiedAt)}>
        Drift: {drift.toLocaleString("en")} file{drift === 1 ? "" : "s"}
        {status === "error" || status === "needs_reauth" ? "" : ", repairing"}
      </span>
    );
  return (
    <span data-testid="verify-status" title={formatExact(verifiedAt)} suppressHydrationWarning>
      Verified exact {formatAgo(verifiedAt, now)}
    </span>
  );
}
