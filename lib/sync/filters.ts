import picomatch from "picomatch";
import { detectLanguage } from "./language";

export const DEFAULT_MAX_FILE_SIZE = 1024 * 1024;

/** Folders that hold generated, vendored or tool state rather than source. */
export const DEFAULT_EXCLUDED_DIRS = [
  ".git",
  ".hg",
  ".svn",
  "node_modules",
  "bower_components",
  "vendor",
  "dist",
  "build",
  "out",
  ".next",
  ".nuxt",
  "__pycache__",
  ".venv",
  "venv",
  ".tox",
  ".mypy_cache",
  ".pytest_cache",
  ".gradle",
  ".idea",
  "target",
  "coverage",
  ".cache",
  ".terraform",
];

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
  const include = config.include?.length ? picomatch(config.include, { dot: true }) : null;
  const exclude = config.exclude?.length ? picomatch(config.exclude, { dot: true }) : null;
  const languages = config.languages?.length ? new Set(config.languages.map((l) => l.toLowerCase())) : null;
  const excludedDirs = new Set(DEFAULT_EXCLUDED_DIRS);
  return {
    maxFileSize: config.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
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
  for (const byte of sample) {
    if (byte === 0) return true;
    if (byte < 7 || (byte > 13 && byte < 32 && byte !== 27)) suspicious++;
  }
  return suspicious / sample.length > 0.1;
}
