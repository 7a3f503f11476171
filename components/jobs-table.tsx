"use client";

import Link from "next/link";
import type { JobListRow } from "@/lib/sources/schemas";
import { RelativeTime } from "./relative-time";
import { RetryFailedButton } from "./retry-failed-button";
import { StatusBadge } from "./status-badge";

/**
 * The jobs page's table. A client component so that the page sends each row's fields once (as
 * props) beside its HTML, instead of the rendered tree of every row a second time.
 */
export function JobsTable({ jobs }: { jobs: JobListRow[] }) {
  return (
    <div className="table-frame">
      <table className="data-table min-w-[48rem]" aria-label="Jobs">
        <thead>
          <tr>
            <th scope="col">Queued</th>
            <th scope="col">Source</th>
            <th scope="col">Type</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Indexed / failed
            </th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} data-testid="job-row">
              <td className="whitespace-nowrap">
                <Link href={`/jobs/${j.id}`} className="link">
                  <RelativeTime iso={j.createdAt} />
                </Link>
              </td>
              <td className="max-w-[14rem] truncate">
                <Link href={`/sources/${j.sourceId}`} className="link">
                  {j.sourceName}
                </Link>
              </td>
              <td>{j.type}</td>
              <td>{j.trigger}</td>
              <td>
                <StatusBadge status={j.status} testId="job-status" />
              </td>
              <td className="num">
                {j.filesProcessed} / {j.filesFailed}
              </td>
              <td>
                <div className="flex items-center gap-2">
                  {(j.status === "failed" || j.filesFailed > 0) && (
                    <Link href={`/jobs/${j.id}`} className="error-text max-w-xs truncate underline">
                      {j.errorMessage ?? `${j.filesFailed} failed files`}
                    </Link>
                  )}
                  {j.filesFailed > 0 && j.status !== "queued" && j.status !== "running" && (
                    <RetryFailedButton jobId={j.id} />
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
