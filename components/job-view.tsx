"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ApiError, apiFetch } from "@/lib/client/api";
import { formatDuration, jobDurationMs } from "@/lib/format";
import type { JobFailureDto } from "@/lib/sources/schemas";
import type { JobDto } from "@/lib/sources/schemas";
import { VerifyFindings } from "./verify-findings";
import { ProgressBar } from "./progress-bar";
import { RelativeTime } from "./relative-time";
import { StatusBadge } from "./status-badge";
import { useNow } from "./use-now";
import { buttonClass, errorAlertClass, secondaryButtonClass } from "./ui";

type Failures = { failures: JobFailureDto[]; total: number };
const live = (job: JobDto) => job.status === "running" || job.status === "queued";

/** One job: live progress, the files that failed and why, and a retry of just those. */
export function JobView(props: {
  job: JobDto;
  source: { id: string; name: string; type: string };
  failures: Failures;
}) {
  const router = useRouter();
  const client = useQueryClient();
  const now = useNow(1000);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const jobQuery = useQuery({
    queryKey: ["job", props.job.id],
    queryFn: ({ signal }) => apiFetch<{ job: JobDto }>(`/api/jobs/${props.job.id}`, { signal }),
    initialData: { job: props.job },
    refetchInterval: (q) => (q.state.data && live(q.state.data.job) ? 1000 : false),
  });
  const job = jobQuery.data.job;
  const failuresQuery = useQuery({
    queryKey: ["job-failures", props.job.id, job.filesFailed],
    queryFn: ({ signal }) => apiFetch<Failures>(`/api/jobs/${props.job.id}/failures`, { signal }),
    initialData: job.filesFailed === props.job.filesFailed ? props.failures : undefined,
  });
  const failures = failuresQuery.data;
  const duration = jobDurationMs(job, now);

  async function act(run: () => Promise<void>) {
    setBusy(true);
    setMessage(null);
    try {
      await run();
    } catch (err) {
      setMessage(err instanceof ApiError ? err.message : "The request failed.");
    } finally {
      setBusy(false);
    }
  }
  const retry = () =>
    act(async () => {
      const res = await apiFetch<{ jobId: string }>(`/api/jobs/${job.id}/retry-failed`, { method: "POST" });
      await client.invalidateQueries({ queryKey: ["activity"] });
      router.push(`/jobs/${res.jobId}`);
    });
  const cancel = () =>
    act(async () => {
      await apiFetch(`/api/jobs/${job.id}/cancel`, { method: "POST" });
      await jobQuery.refetch();
    });

  return (
    <div className="space-y-8">
      <nav aria-label="Breadcrumb" className="text-sm text-zinc-500">
        <Link href="/" className="hover:underline">
          Sources
        </Link>{" "}
        /{" "}
        <Link href={`/sources/${props.source.id}`} className="hover:underline">
          {props.source.name}
        </Link>{" "}
        / <span>job</span>
      </nav>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">
            {job.type === "verify"
              ? `Verify of ${props.source.name}`
              : job.type === "redeliver"
                ? `Redelivery of ${props.source.name}`
                : `${job.type === "full" ? "Full" : "Incremental"} sync of ${props.source.name}`}
          </h1>
          <p className="mt-1 flex flex-wrap items-center gap-2 text-sm text-zinc-600 dark:text-zinc-400">
            <StatusBadge status={job.status} testId="job-status" /> triggered by {job.trigger} · queued{" "}
            <RelativeTime iso={job.createdAt} />
          </p>
        </div>
        <div className="flex gap-2">
          {live(job) && (
            <button type="button" className={secondaryButtonClass} disabled={busy} onClick={() => void cancel()}>
              Cancel
            </button>
          )}
          {!live(job) && failures && failures.total > 0 && (
            <button type="button" className={buttonClass} disabled={busy} onClick={() => void retry()}>
              Retry the failed files
            </button>
          )}
        </div>
      </div>
      {message && (
        <p role="alert" className={errorAlertClass}>
          {message}
        </p>
      )}
      <div className="h-10">
        <ProgressBar job={job} label="Job progress" />
      </div>
      <dl className="grid grid-cols-2 gap-4 rounded-lg border border-zinc-200 p-4 text-sm sm:grid-cols-3 lg:grid-cols-6 dark:border-zinc-800">
        {[
          ["Files", job.filesTotal],
          ["Indexed", job.filesProcessed],
          ["Unchanged", job.filesSkipped],
          ["Failed", job.filesFailed],
        ].map(([label, value]) => (
          <div key={label}>
            <dt className="text-xs text-zinc-500">{label}</dt>
            <dd className="tabular-nums">{Number(value).toLocaleString("en")}</dd>
          </div>
        ))}
        <div>
          <dt className="text-xs text-zinc-500">Started</dt>
          <dd>
            <RelativeTime iso={job.startedAt} fallback="not yet" />
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Duration</dt>
          <dd className="tabular-nums">{duration === null ? "—" : formatDuration(duration)}</dd>
        </div>
      </dl>
      {job.errorMessage && (
        <p role="alert" className={errorAlertClass}>
          {job.errorMessage}
        </p>
      )}
      {job.verify && <VerifyFindings result={job.verify} detail={job.detail} />}
      <section aria-labelledby="failures-title">
        <h2 id="failures-title" className="mb-3 text-lg font-semibold">
          Failed files {failures ? <span className="text-sm font-normal text-zinc-500">({failures.total})</span> : null}
        </h2>
        {!failures ? (
          <p role="status" className="text-sm text-zinc-500">
            Loading…
          </p>
        ) : failures.total === 0 ? (
          <p className="text-sm text-zinc-500">No file failed.</p>
        ) : (
          <ul
            className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 text-sm dark:divide-zinc-800 dark:border-zinc-800"
            aria-label="Failed files"
          >
            {failures.failures.map((f) => (
              <li key={f.path} className="px-3 py-2" data-testid="failure">
                <p className="break-all font-mono text-xs">{f.path}</p>
                <p className="text-xs text-red-700 dark:text-red-400">{f.error}</p>
              </li>
            ))}
            {failures.total > failures.failures.length && (
              <li className="px-3 py-2 text-xs text-zinc-500">
                and {failures.total - failures.failures.length} more (all are retried)
              </li>
            )}
          </ul>
        )}
      </section>
    </div>
  );
}
