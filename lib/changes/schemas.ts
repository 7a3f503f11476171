import { z } from "zod";

/** GET /api/changes and GET /api/sources/:id/changes. */
export const changesQuery = z.object({
  after: z
    .string()
    .max(200)
    .optional()
    .describe("The `cursor` of a previous answer; without it the feed starts at the oldest retained change"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(30)
    .default(0)
    .describe("Seconds an empty answer may wait for a change before it returns"),
});
export type ChangesQuery = z.infer<typeof changesQuery>;

export const changeDto = z.object({
  seq: z.number().int(),
  sourceId: z.uuid(),
  op: z.enum(["upsert", "delete"]),
  path: z.string(),
  sha: z.string().nullable().describe("SHA-256 of the content (upsert); of the version removed (delete), if known"),
  size: z.number().int().nullable(),
  language: z.string().nullable(),
  at: z.iso.datetime(),
});
export type ChangeDto = z.infer<typeof changeDto>;

export const changesPage = z.object({
  changes: z.array(changeDto),
  cursor: z.string().describe("Pass as `after` to resume; an empty page answers the cursor it was given"),
});
