import type { SourceDto } from "@/lib/sources/serialize";

const STATUS_STYLES: Record<string, string> = {
  pending: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  syncing: "bg-blue-100 text-blue-800 dark:bg-blue-950 dark:text-blue-300",
  synced: "bg-green-100 text-green-800 dark:bg-green-950 dark:text-green-300",
  error: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  needs_reauth: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
};

export function SourceList({ sources }: { sources: SourceDto[] }) {
  if (sources.length === 0) {
    return (
      <div className="rounded-lg border border-dashed border-zinc-300 p-8 text-sm dark:border-zinc-700">
        <p className="font-medium">No sources yet.</p>
        <p className="mt-2 text-zinc-600 dark:text-zinc-400">
          Connect a local folder through the API (it must be under <code>LOCAL_SOURCE_ROOTS</code>):
        </p>
        <pre className="mt-2 overflow-x-auto rounded bg-zinc-100 p-3 text-xs dark:bg-zinc-900">
          {`curl -X POST localhost:3000/api/sources -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' \\
  -d '{"type":"local","name":"code","config":{"path":"/srv/code"}}'`}
        </pre>
      </div>
    );
  }
  return (
    <ul className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800" aria-label="Sources">
      {sources.map((source) => {
        const job = source.latestJob;
        const running = job?.status === "running" || job?.status === "queued";
        return (
          <li key={source.id} className="p-4" data-testid="source-row">
            <div className="flex flex-wrap items-center gap-3">
              <span className="rounded bg-zinc-100 px-2 py-0.5 text-xs uppercase dark:bg-zinc-800">{source.type}</span>
              <span className="font-medium">{source.name}</span>
              <span className={`rounded-full px-2 py-0.5 text-xs ${STATUS_STYLES[source.status] ?? ""}`} data-testid="source-status">
                {source.status}
              </span>
              <span className="ml-auto text-xs text-zinc-500">
                {source.fileCount ?? 0} files
                {source.lastSyncAt ? (
                  <>
                    {" · last sync "}
                    <time dateTime={source.lastSyncAt} title={source.lastSyncAt}>
                      {new Date(source.lastSyncAt).toLocaleString("en-GB", { timeZone: "UTC" })} UTC
                    </time>
                  </>
                ) : null}
              </span>
            </div>
            {job && running ? (
              <div className="mt-3">
                <div
                  className="h-2 w-full overflow-hidden rounded bg-zinc-100 dark:bg-zinc-800"
                  role="progressbar"
                  aria-valuenow={job.progress}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-label={`Sync progress of ${source.name}`}
                >
                  <div className="h-full bg-blue-600 transition-[width]" style={{ width: `${job.progress}%` }} />
                </div>
                <p className="mt-1 text-xs text-zinc-500">
                  {job.status === "queued"
                    ? "queued"
                    : `${job.filesProcessed + job.filesSkipped + job.filesFailed} of ${job.filesTotal} files`}
                  {job.detail ? ` · ${job.detail}` : ""}
                </p>
              </div>
            ) : null}
            {job?.status === "failed" && job.errorMessage ? (
              <p className="mt-2 text-xs text-red-700 dark:text-red-400">Last sync failed: {job.errorMessage}</p>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
