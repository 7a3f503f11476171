"use client";

import { estimateRemainingMs, filesDone, formatDuration, type JobProgress } from "@/lib/format";
import { useNow } from "./use-now";

/**
 * A job's progress: the bar, files done of total and the time left. It always takes the same
 * height, so rows do not jump as a sync starts, runs and ends.
 */
export function ProgressBar({
  job,
  label,
}: {
  job: JobProgress & { progress: number; detail?: string | null };
  label: string;
}) {
  const now = useNow(1000);
  const done = filesDone(job);
  const remaining = estimateRemainingMs(job, now);
  const percent = job.status === "completed" ? 100 : job.progress;
  return (
    <div className="w-full">
      <div
        className="progress-track"
        role="progressbar"
        aria-valuenow={percent}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-label={label}
        aria-valuetext={`${percent}%, ${done} of ${job.filesTotal} files`}
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="muted mt-1 truncate text-xs tabular-nums" data-testid="progress-text">
        {job.status === "queued" ? (
          "queued, waiting for a worker"
        ) : job.filesTotal === 0 && done === 0 ? (
          `listing files…${job.detail ? ` · ${job.detail}` : ""}`
        ) : (
          <>
            {percent}% · {done.toLocaleString("en")} of {job.filesTotal.toLocaleString("en")} files
            {remaining !== null ? ` · about ${formatDuration(remaining)} left` : ""}
            {job.filesFailed > 0 ? ` · ${job.filesFailed} failed` : ""}
            {job.detail ? ` · ${job.detail}` : ""}
          </>
        )}
      </p>
    </div>
  );
}
