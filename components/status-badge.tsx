const STYLES: Record<string, string> = {
  pending: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  queued: "bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  syncing: "bg-blue-100 text-blue-800 dark:bg-blue-950 dark:text-blue-300",
  running: "bg-blue-100 text-blue-800 dark:bg-blue-950 dark:text-blue-300",
  synced: "bg-green-100 text-green-800 dark:bg-green-950 dark:text-green-300",
  completed: "bg-green-100 text-green-800 dark:bg-green-950 dark:text-green-300",
  error: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  cancelled: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400",
  needs_reauth: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
};

const LABELS: Record<string, string> = { needs_reauth: "needs reconnecting" };

/** A source's or a job's status as a coloured pill (the word itself carries the meaning). */
export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span
      data-testid={testId}
      className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ${STYLES[status] ?? STYLES.pending}`}
    >
      {LABELS[status] ?? status}
    </span>
  );
}

export const PROVIDER_LABELS: Record<string, string> = {
  local: "Local folder",
  github: "GitHub",
  gitlab: "GitLab",
  bitbucket: "Bitbucket",
  gdrive: "Google Drive",
  dropbox: "Dropbox",
};
