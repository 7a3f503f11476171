import { z } from "zod";

export const SOURCE_STATUSES = ["pending", "syncing", "synced", "error", "needs_reauth"] as const;
export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;

export const createSourceBody = z.object({
  type: z.string({ error: "type is required (github, gitlab, bitbucket, gdrive, dropbox or local)" }),
  name: z.string({ error: "name is required" }).trim().min(1, "name must not be empty").max(255),
  config: z.record(z.string(), z.unknown()).default({}),
});
export type CreateSourceBody = z.infer<typeof createSourceBody>;

export const updateSourceBody = z
  .object({
    name: z.string().trim().min(1, "name must not be empty").max(255).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((b) => b.name !== undefined || b.config !== undefined, { message: "Send name, config or both." });

export const syncBody = z
  .object({
    type: z
      .enum(["full", "incremental", "redeliver"])
      .default("incremental")
      .describe("redeliver: hand every indexed file to the pipeline again, as a new generation (its own job)"),
    confirmDeletes: z
      .boolean()
      .optional()
      .describe("With type full: also remove the files the deletion guard held back (gone from the source)"),
  })
  .refine((b) => !b.confirmDeletes || b.type === "full", {
    message: 'confirmDeletes goes with a full sync: send {"type": "full", "confirmDeletes": true}.',
    path: ["confirmDeletes"],
  });

export const sourceIdParams = z.object({ id: z.uuid({ error: "The source id must be a UUID." }) });
export const jobIdParams = z.object({ id: z.uuid({ error: "The job id must be a UUID." }) });

/** A query parameter that may repeat (`?status=error&status=synced`) or list values with commas. */
const repeatable = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(",")).filter(Boolean))
    .pipe(z.array(item))
    .optional();

export const SOURCE_SORTS = ["-createdAt", "name", "-name", "status", "lastSyncAt", "-lastSyncAt"] as const;

export const listSourcesQuery = z.object({
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  q: z.string().trim().max(255).optional().describe("Names containing this, case-insensitive"),
  type: repeatable(z.enum(["github", "gitlab", "bitbucket", "gdrive", "dropbox", "local"])),
  status: repeatable(z.enum(SOURCE_STATUSES)),
  sort: z
    .enum(SOURCE_SORTS)
    .default("-createdAt")
    .describe("status: errors first (error, needs_reauth, syncing, pending, synced), then by name"),
});
export type ListSourcesQuery = Partial<z.output<typeof listSourcesQuery>>;

export const listFilesQuery = z.object({
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  prefix: z.string().optional(),
  language: z.string().optional(),
});

export const fileContentQuery = z.object({ path: z.string({ error: "path is required" }).min(1, "path is required") });

export const JOB_TYPES = ["full", "incremental", "verify", "redeliver"] as const;

export const listJobsQuery = z.object({
  sourceId: z.uuid({ error: "sourceId must be a UUID." }).optional(),
  status: repeatable(z.enum(JOB_STATUSES)),
  type: repeatable(z.enum(JOB_TYPES)),
  trigger: repeatable(z.string().max(50)),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

export const jobFailuresQuery = z.object({ limit: z.coerce.number().int().min(1).max(5000).default(500) });
export const webhookEventsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

// Response shapes. The serializers return these types and the OpenAPI document is generated from
// these schemas, so what the API answers, what the pages render and what the document says are one.

const timestamp = z.iso.datetime();

const verifyExamples = z.array(z.string()).describe("Up to 100 example paths");
export const verifyResultSchema = z
  .object({
    missing: z.number().int().describe("Files in the source (after its filters) that the index lacks"),
    extra: z.number().int().describe("Indexed files the source no longer has or its filters drop"),
    differing: z.number().int().describe("Indexed files whose version differs from the source's"),
    behind: z.boolean().describe("The source moved on since the indexed commit or cursor (not drift)"),
    examples: z.object({ missing: verifyExamples, extra: verifyExamples, differing: verifyExamples }),
    requests: z.number().int().optional().describe("Provider requests the comparison cost"),
  })
  .describe("What a verify job found; null until it completes");

export const jobSchema = z.object({
  id: z.uuid(),
  sourceId: z.uuid(),
  type: z.enum(JOB_TYPES),
  trigger: z.string(),
  status: z.enum(JOB_STATUSES),
  progress: z.number().int(),
  filesTotal: z.number().int(),
  filesProcessed: z.number().int(),
  filesSkipped: z.number().int(),
  filesFailed: z.number().int(),
  errorMessage: z.string().nullable(),
  detail: z.string().nullable(),
  startedAt: timestamp.nullable(),
  completedAt: timestamp.nullable(),
  createdAt: timestamp,
  verify: verifyResultSchema.nullable().optional().describe("Verify jobs only"),
});
export type JobDto = z.infer<typeof jobSchema>;

/** A job in the list across sources: with its source's name. */
export const jobListItemSchema = jobSchema.extend({ sourceName: z.string() });
export type JobListItemDto = z.infer<typeof jobListItemSchema>;

export const sourceSchema = z.object({
  id: z.uuid(),
  type: z.string(),
  name: z.string(),
  config: z.record(z.string(), z.unknown()).describe("The source's config; secrets are never returned"),
  status: z.enum(SOURCE_STATUSES),
  statusDetail: z.string().nullable().describe("Why the source is in error or needs_reauth, for people"),
  lastSyncAt: timestamp.nullable(),
  webhookId: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
  latestJob: jobSchema.nullable().optional(),
  fileCount: z.number().int(),
  verifiedAt: timestamp.nullable().describe("When a verify last compared the index with the source"),
  drift: z
    .number()
    .int()
    .nullable()
    .describe("Files that differed at the last verify (missing, extra or differing); 0 when exact, null before any"),
  nextPollAt: timestamp
    .nullable()
    .describe(
      "When the provider is next asked whether the source changed (sources no webhook reaches); null when it is not polled or not scheduled yet",
    ),
});
export type SourceDto = z.infer<typeof sourceSchema>;

export const fileSchema = z.object({
  path: z.string(),
  sha: z.string().nullable(),
  size: z.number().int().nullable(),
  language: z.string().nullable(),
  lastModified: timestamp.nullable(),
  indexedAt: timestamp.nullable(),
  lfs: z.boolean().describe("The content is a Git LFS pointer, not the object it stands for"),
});
export type FileDto = z.infer<typeof fileSchema>;

export const chunkSchema = z.object({
  ordinal: z.number().int(),
  startLine: z.number().int(),
  endLine: z.number().int(),
  content: z.string(),
});
export type ChunkDto = z.infer<typeof chunkSchema>;

export const jobFailureSchema = z.object({ path: z.string(), error: z.string(), createdAt: timestamp });
export type JobFailureDto = z.infer<typeof jobFailureSchema>;

export const webhookEventSchema = z.object({
  id: z.uuid(),
  eventType: z.string(),
  deliveryId: z.string().nullable(),
  processed: z.boolean(),
  processedAt: timestamp.nullable(),
  receivedAt: timestamp,
});
export type WebhookEventDto = z.infer<typeof webhookEventSchema>;

/** A repository, branch or folder a provider account can read (the connect page's pickers). */
export const browseItemSchema = z.object({ id: z.string(), name: z.string(), detail: z.string().optional() });
export type BrowseItem = z.infer<typeof browseItemSchema>;

export const sourceResponse = z.object({ source: sourceSchema });
export const createSourceResponse = z.object({ source: sourceSchema, jobId: z.uuid() });
export const listSourcesResponse = z.object({
  sources: z.array(sourceSchema),
  nextCursor: z.string().nullable(),
  statusCounts: z
    .record(z.enum(SOURCE_STATUSES), z.number().int())
    .describe("Sources per status matching q and type (the status filter aside)"),
});
export type ListSourcesResponse = z.infer<typeof listSourcesResponse>;
export const syncResponse = z.object({ jobId: z.uuid(), coalesced: z.boolean().optional() });
export const verifyResponse = z.object({ jobId: z.uuid() });
export const listFilesResponse = z.object({ files: z.array(fileSchema), nextCursor: z.string().nullable() });
export type ListFilesResponse = z.infer<typeof listFilesResponse>;
export const fileContentResponse = z.object({ file: fileSchema, content: z.string(), chunks: z.array(chunkSchema) });
export const listJobsResponse = z.object({ jobs: z.array(jobListItemSchema), nextCursor: z.string().nullable() });
export type ListJobsResponse = z.infer<typeof listJobsResponse>;
export const jobResponse = z.object({ job: jobSchema });
export const retryFailedResponse = z.object({ jobId: z.uuid(), paths: z.number().int(), coalesced: z.boolean() });
export const jobFailuresResponse = z.object({ failures: z.array(jobFailureSchema), total: z.number().int() });
export type JobFailuresResponse = z.infer<typeof jobFailuresResponse>;
export const webhookEventsResponse = z.object({ events: z.array(webhookEventSchema) });
export const browseResponse = z.object({ items: z.array(browseItemSchema) });

// What the dashboard's lists send to the browser: only the fields a row shows, picked from the
// response schemas, so a page of 50 rows stays light.

export const sourceListRowSchema = sourceSchema
  .pick({
    id: true,
    type: true,
    name: true,
    status: true,
    lastSyncAt: true,
    fileCount: true,
    verifiedAt: true,
    drift: true,
  })
  .extend({
    latestJob: jobSchema
      .pick({
        id: true,
        status: true,
        progress: true,
        filesTotal: true,
        filesProcessed: true,
        filesSkipped: true,
        filesFailed: true,
        errorMessage: true,
        detail: true,
        startedAt: true,
      })
      .nullable()
      .describe("Only while the job runs or once it failed"),
  });
export type SourceListRow = z.infer<typeof sourceListRowSchema>;

export const jobListRowSchema = jobListItemSchema.pick({
  id: true,
  sourceId: true,
  sourceName: true,
  type: true,
  trigger: true,
  status: true,
  filesProcessed: true,
  filesFailed: true,
  errorMessage: true,
  createdAt: true,
});
export type JobListRow = z.infer<typeof jobListRowSchema>;

export const fileListRowSchema = fileSchema.pick({
  path: true,
  sha: true,
  size: true,
  language: true,
  indexedAt: true,
});
export type FileListRow = z.infer<typeof fileListRowSchema>;

/** The fields of `value` that `schema` names (a view of a larger DTO; nothing is validated). */
export function pickFields<T extends z.ZodObject>(schema: T, value: object): z.infer<T> {
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(schema.shape).map((key) => [key, record[key]])) as z.infer<T>;
}
