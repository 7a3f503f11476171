"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { jobsHref, type JobsQuery } from "./jobs-url";
import { inputClass } from "./ui";

const FILTERS = {
  status: ["queued", "running", "completed", "failed", "cancelled"],
  type: ["full", "incremental", "verify", "redeliver"],
  trigger: ["manual", "api", "create", "schedule", "webhook", "watcher", "retry"],
} as const;
const ALL: Record<keyof typeof FILTERS, string> = {
  status: "All statuses",
  type: "All types",
  trigger: "All triggers",
};

/** Filters of the jobs page; each change is a new URL, starting at the first page. */
export function JobsFilters({ query, source }: { query: JobsQuery; source: { id: string; name: string } | null }) {
  const router = useRouter();
  const go = (change: Partial<JobsQuery>) =>
    router.push(jobsHref({ ...query, ...change, cursor: undefined, prev: [] }));
  return (
    <div className="flex flex-wrap items-center gap-2">
      {(Object.keys(FILTERS) as (keyof typeof FILTERS)[]).map((key) => (
        <select
          key={key}
          aria-label={key.charAt(0).toUpperCase() + key.slice(1)}
          className={`${inputClass} w-auto`}
          value={query[key][0] ?? ""}
          onChange={(e) => go({ [key]: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">{ALL[key]}</option>
          {FILTERS[key].map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      ))}
      {query.sourceId && (
        <span className="rounded-full bg-zinc-100 px-3 py-1 text-sm dark:bg-zinc-800">
          Source: {source?.name ?? "unknown"}{" "}
          <button
            type="button"
            aria-label="Show every source"
            className="ml-1"
            onClick={() => go({ sourceId: undefined })}
          >
            ×
          </button>
        </span>
      )}
      {(query.status.length > 0 || query.type.length > 0 || query.trigger.length > 0 || query.sourceId) && (
        <Link href="/jobs" className="text-sm text-zinc-500 underline">
          Clear filters
        </Link>
      )}
    </div>
  );
}
