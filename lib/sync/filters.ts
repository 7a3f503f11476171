import { z } from "zod";
import { checkGlob, compileGlobs, GlobError, MAX_GLOB_LENGTH, MAX_GLOB_PATTERNS } from "./glob";
import { detectLanguage } from "./language";
import { DEFAULT_EXCLUDED_DIRS } from "@/lib/connectors/excluded-dirs";
import { DEFAULT_MAX_FILE_SIZE } from "@/lib/connectors/provider-limits";

export { DEFAULT_EXCLUDED_DIRS, DEFAULT_MAX_FILE_SIZE };

function maxFileSizeLimit(): number {
  const raw = process.env.MAX_FILE_SIZE_LIMIT;
  if (raw === undefined || raw.trim() === "") return 50 * 1024 * 1024;
  const limit = Number(raw);
  if (!Number.isSafeInteger(limit) || limit <= 0)
    throw new Error(`MAX_FILE_SIZE_LIMIT must be a whole number of bytes above 0 (got "${raw}").`);
  return limit;
}
/** The largest `maxFileSize` a source may set (MAX_FILE_SIZE_LIMIT, bytes; default 50 MB). */
export const MAX_FILE_SIZE_LIMIT = maxFileSizeLimit();

const globList = z
  .array(z.string().min(1).max(MAX_GLOB_LENGTH, `A pattern has at most ${MAX_GLOB_LENGTH} characters.`))
  .max(MAX_GLOB_PATTERNS, `At most ${MAX_GLOB_PATTERNS} patterns.`)
  .superRefine((patterns, ctx) => {
    // Compiled only within the limits: a list over them costs nothing more than its refusal.
    if (patterns.length > MAX_GLOB_PATTERNS || patterns.some((p) => p.length > MAX_GLOB_LENGTH)) return;
    patterns.forEach((pattern, i) => {
      try {
        checkGlob(pattern);
      } catch (err) {
        if (!(err instanceof GlobError)) throw err;
        ctx.addIssue({ code: "custom", message: err.message, path: [i] });
      }
    });
  });

/** The filters every source type takes in its config. */
export const filterConfigSchema = z.object({
  include: globList.optional(),
  exclude: globList.optional(),
  languages: z.array(z.string().min(1).max(50)).max(100, "At most 100 languages.").optional(),
  maxFileSize: z
    .number()
    .int()
    .positive()
    .max(MAX_FILE_SIZE_LIMIT, `At most ${MAX_FILE_SIZE_LIMIT} bytes (MAX_FILE_SIZE_LIMIT).`)
    .optional(),
});

export type FilterConfig = {
  include?: string[];
  exclude?: string[];
  languages?: string[];
  maxFileSize?: number;
};

export type PathVerdict = { keep: true; language: string | null } | { keep: false; reason: string };

export type FileFilter = {
  maxFileSize: number;
  checkPath(path: string): PathVerdict;
};

export function createFileFilter(config: FilterConfig): FileFilter {
  const include = config.include?.length ? compileGlobs(config.include) : null;
  const exclude = config.exclude?.length ? compileGlobs(config.exclude) : null;
  const languages = config.languages?.length ? new Set(config.languages.map((l) => l.toLowerCase())) : null;
  const excludedDirs = new Set(DEFAULT_EXCLUDED_DIRS);
  return {
    // A source saved before the limit existed is held to it too.
    maxFileSize: Math.min(config.maxFileSize ?? DEFAULT_MAX_FILE_SIZE, MAX_FILE_SIZE_LIMIT),
    checkPath(path) {
      const segments = path.split("/");
      const dir = segments.slice(0, -1).find((s) => excludedDirs.has(s));
      if (dir) return { keep: false, reason: `in excluded folder ${dir}/` };
      if (include && !include(path)) return { keep: false, reason: "not matched by include" };
      if (exclude && exclude(path)) return { keep: false, reason: "matched by exclude" };
      const language = detectLanguage(path);
      if (languages && (!language || !languages.has(language))) return { keep: false, reason: "language not selected" };
      return { keep: true, language };
    },
  };
}

/**
 * Binary by content, as git decides it: a NUL byte in the first 8 KB, or mostly
 * non-text bytes. Extensions lie (a `.txt` that is a zip, a `.ts` video).
 */
export function isBinary(content: Buffer): boolean {
  const sample = content.subarray(0, 8000);
  if (sample.length === 0) return false;
  let suspicious = 0;
  if (sample.includes(0)) return true;
  for (let i = 0; i < sample.length; i++) {
    const byte = sample[i]!;
    if (byte < 7 || (byte > 13 && byte < 32 && byte !== 27)) suspicious++;
  }
  return suspicious / sample.length > 0.1;
}
