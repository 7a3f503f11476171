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
