import type { FileRow, Source, SyncJob } from "@/lib/db/schema";
import type { FileDto, JobDto, SourceDto } from "./schemas";

/** Config keys that hold secrets; never returned, rendered or logged. */
const SECRET_KEYS = /token|secret|password|key$|credential(?!Id)/i;

export function publicConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !SECRET_KEYS.test(key)));
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The job columns its DTO shows (every column but the paths, attempts and confirmDeletes). */
export const JOB_FIELDS = [
  "id",
  "sourceId",
  "type",
  "trigger",
  "status",
  "progress",
  "filesTotal",
  "filesProcessed",
  "filesSkipped",
  "filesFailed",
  "errorMessage",
  "detail",
  "result",
  "startedAt",
  "completedAt",
  "createdAt",
] as const satisfies readonly (keyof SyncJob)[];
export type JobFields = Pick<SyncJob, (typeof JOB_FIELDS)[number]>;

export function toJobDto(job: JobFields): JobDto {
  return {
    id: job.id,
    sourceId: job.sourceId,
    type: job.type as JobDto["type"],
    trigger: job.trigger,
    status: job.status as JobDto["status"],
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
    createdAt: job.createdAt.toISOString(),
  };
}

/** The source columns its DTO shows: never its sealed secrets, account or cursor. */
export const SOURCE_FIELDS = [
  "id",
  "type",
  "name",
  "config",
  "status",
  "statusDetail",
  "lastSyncAt",
  "webhookId",
  "createdAt",
  "updatedAt",
  "fileCount",
  "verifiedAt",
  "drift",
  "nextPollAt",
] as const satisfies readonly (keyof Source)[];
export type SourceFields = Pick<Source, (typeof SOURCE_FIELDS)[number]>;

export function toSourceDto(source: SourceFields, extra: { latestJob?: JobFields | null } = {}): SourceDto {
  return {
    id: source.id,
    type: source.type,
    name: source.name,
    config: publicConfig(source.config),
    status: source.status as SourceDto["status"],
    statusDetail: source.statusDetail,
    lastSyncAt: iso(source.lastSyncAt),
    webhookId: source.webhookId,
    createdAt: source.createdAt.toISOString(),
    updatedAt: source.updatedAt.toISOString(),
    fileCount: source.fileCount,
    verifiedAt: iso(source.verifiedAt),
    drift: source.drift,
    nextPollAt: iso(source.nextPollAt),
    ...(extra.latestJob !== undefined ? { latestJob: extra.latestJob ? toJobDto(extra.latestJob) : null } : {}),
  };
}

export function toFileDto(
  file: Pick<FileRow, "path" | "sha" | "size" | "language" | "lastModified" | "indexedAt" | "lfs">,
): FileDto {
  return {
    path: file.path,
    sha: file.sha,
    size: file.size,
    language: file.language,
    lastModified: iso(file.lastModified),
    indexedAt: iso(file.indexedAt),
    lfs: file.lfs,
  };
}
