// Formatting shared by server and client components.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 30],
  ["month", 12],
  ["year", Infinity],
];

export function formatRelative(iso: string, now: number): string {
  let value = (new Date(iso).getTime() - now) / 1000;
  if (Math.abs(value) < 5) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return RELATIVE.format(Math.round(value), unit);
    value /= size;
  }
  return RELATIVE.format(Math.round(value), "year");
}

/** Short past time: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(iso: string, now: number): string {
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

export function formatExact(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" }) + " UTC";
}

export type JobProgress = {
  status: string;
  filesTotal: number;
  filesProcessed: number;
  filesSkipped: number;
  filesFailed: number;
  startedAt: string | null;
};

export const filesDone = (job: JobProgress) => job.filesProcessed + job.filesSkipped + job.filesFailed;

/** Time left from the rate so far; null until there is a rate to go by. */
export function estimateRemainingMs(job: JobProgress, now: number): number | null {
  if (job.status !== "running" || !job.startedAt || job.filesTotal === 0) return null;
  const done = filesDone(job);
  if (done === 0 || done >= job.filesTotal) return null;
  const elapsed = now - new Date(job.startedAt).getTime();
  if (elapsed < 1000) return null;
  return (elapsed / done) * (job.filesTotal - done);
}

export function jobDurationMs(
  job: { startedAt: string | null; completedAt: string | null },
  now: number,
): number | null {
  if (!job.startedAt) return null;
  return (job.completedAt ? new Date(job.completedAt).getTime() : now) - new Date(job.startedAt).getTime();
}
