import type { WebhookProvider } from "./callback-url";

/** Paths kept across a push's commits, commits kept, and the longest string kept. */
const MAX_PATHS = 1_000;
const MAX_COMMITS = 100;
const MAX_STRING = 1_024;

const record = (v: unknown): Record<string, unknown> | null =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v.slice(0, MAX_STRING) : undefined);
const id = (v: unknown): string | number | undefined => (typeof v === "number" ? v : str(v));

/**
 * What is stored of a verified git delivery: the fields a sync needs (ref, before/after, the
 * commits' changed paths, the repository's id and name), each capped, so that a 25 MB payload
 * never becomes 25 MB of JSONB. `truncated` says that paths or commits were left out.
 */
export function gitPayloadSummary(provider: WebhookProvider, payload: unknown): Record<string, unknown> {
  const p = record(payload) ?? {};
  let paths = 0;
  let truncated = false;
  const capPaths = (v: unknown): string[] => {
    const list = Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
    const kept = list.slice(0, Math.max(0, MAX_PATHS - paths)).map((x) => x.slice(0, MAX_STRING));
    if (kept.length < list.length) truncated = true;
    paths += kept.length;
    return kept;
  };
  const rawCommits = Array.isArray(p.commits) ? p.commits : [];
  if (rawCommits.length > MAX_COMMITS) truncated = true;
  const commits = rawCommits.slice(0, MAX_COMMITS).map((c) => {
    const commit = record(c) ?? {};
    return {
      id: str(commit.id),
      added: capPaths(commit.added),
      modified: capPaths(commit.modified),
      removed: capPaths(commit.removed),
    };
  });
  const repository = record(p.repository);
  const project = record(p.project);
  const summary: Record<string, unknown> = {
    ref: str(p.ref),
    before: str(p.before),
    after: str(p.after),
    repository:
      provider === "gitlab"
        ? { id: id(project?.id), name: str(project?.path_with_namespace) }
        : { id: id(repository?.id ?? repository?.uuid), name: str(repository?.full_name) },
  };
  if (rawCommits.length > 0) summary.commits = commits;
  if (provider === "bitbucket") {
    const changes = record(p.push)?.changes;
    const ref = (v: unknown) => {
      const r = record(v);
      return r ? { type: str(r.type), name: str(r.name), hash: str(record(r.target)?.hash) } : null;
    };
    if (Array.isArray(changes)) {
      if (changes.length > MAX_COMMITS) truncated = true;
      summary.changes = changes
        .slice(0, MAX_COMMITS)
        .map((c) => ({ old: ref(record(c)?.old), new: ref(record(c)?.new) }));
    }
  }
  if (truncated) summary.truncated = true;
  return summary;
}
