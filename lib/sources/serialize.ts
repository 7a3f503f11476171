import type { FileRow, Source, SyncJob } from "@/lib/db/schema";

/** Config keys that hold secrets; never returned, rendered or logged. */
const SECRET_KEYS = /token|secret|password|key$|credential(?!Id)/i;

export function publicConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !SECRET_KEYS.test(key)));
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** What a job's DTO shows (every column but the paths, attempts and confirmDeletes). */
export type JobFields = Omit<SyncJob, "paths" | "attempts" | "confirmDeletes">;

export function toJobDto(job: JobFields) {
  return {
    id: job.id,
    sourceId: job.sourceId,
    type: job.type,
    trigger: job.trigger,
    status: job.status,
    progress: job.progress,
    filesTotal: job.filesTotal,
    filesProcessed: job.filesProcessed,
    filesSkipped: job.filesSkipped,
    filesFailed: job.filesFailed,
    errorMessage: job.errorMessage,
    detail: job.detail,
    ...(job.type === "verify" ? { verify: job.result ?? null } : {}),
    startedAt: iso(job.startedAt),
    completedAt: iso(job.completedAt),
    createdAt: iso(job.createdAt),
  };
}
export type JobDto = ReturnType<typeof toJobDto>;

/** What a source's DTO shows: never its sealed secrets, account or cursor. */
export type SourceFields = Pick<
  Source,
  | "id"
  | "type"
  | "name"
  | "config"
  | "status"
  | "statusDetail"
  | "lastSyncAt"
  | "webhookId"
  | "createdAt"
  | "updatedAt"
  | "fileCount"
  | "verifiedAt"
  | "drift"
  | "nextPollAt"
>;

export function toSourceDto(source: SourceFields, extra: { latestJob?: JobFields | null } = {}) {
  return {
    id: source.id,
    type: source.type,
    name: source.name,
    config: publicConfig(source.config),
    status: source.status,
    statusDetail: source.statusDetail,
    lastSyncAt: iso(source.lastSyncAt),
    webhookId: source.webhookId,
    createdAt: iso(source.createdAt),
    updatedAt: iso(source.updatedAt),
    fileCount: source.fileCount,
    verifiedAt: iso(source.verifiedAt),
    drift: source.drift,
    nextPollAt: iso(source.nextPollAt),
    ...(extra.latestJob !== undefined ? { latestJob: extra.latestJob ? toJobDto(extra.latestJob) : null } : {}),
  };
}
export type SourceDto = ReturnType<typeof toSourceDto>;

export function toFileDto(
  file: Pick<FileRow, "path" | "sha" | "size" | "language" | "lastModified" | "indexedAt" | "lfs">,
) {
  return {
    path: file.path,
    sha: file.sha,
    size: file.size,
    language: file.language,
    lastModified: iso(file.lastModified),
    indexedAt: iso(file.indexedAt),
    /** The content is a Git LFS pointer, not the object it stands for. */
    lfs: file.lfs,
  };
}
