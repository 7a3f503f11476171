"use client";

import { buttonClass, errorAlertClass } from "@/components/ui";

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div role="alert" className={`${errorAlertClass} space-y-3`}>
      <p className="font-medium">This page could not be shown.</p>
      <p>
        Something went wrong on the server
        {error.digest ? ` (reference ${error.digest}; the details are in the server log)` : ""}. Try again in a moment.
      </p>
      <button type="button" onClick={reset} className={buttonClass}>
        Try again
      </button>
    </div>
  );
}
