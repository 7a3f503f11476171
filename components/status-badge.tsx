/** Each status's colour (classes in app/globals.css). */
const STYLES: Record<string, string> = {
  pending: "badge-idle",
  queued: "badge-idle",
  syncing: "badge-busy",
  running: "badge-busy",
  synced: "badge-ok",
  completed: "badge-ok",
  error: "badge-bad",
  failed: "badge-bad",
  cancelled: "badge-muted",
  needs_reauth: "badge-warn",
};

const LABELS: Record<string, string> = { needs_reauth: "needs reconnecting" };

/** A source's or a job's status as a coloured pill (the word itself carries the meaning). */
export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span data-testid={testId} className={`badge ${STYLES[status] ?? STYLES.pending}`}>
      {LABELS[status] ?? status}
    </span>
  );
}
