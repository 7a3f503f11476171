import { createHmac } from "node:crypto";
import { safeEqual } from "@/lib/safe-equal";
import { z } from "zod";
import { ConnectorConfigError } from "../errors";
import type { FileChange, RemoteFile } from "../types";

/** True when a slash-separated name has a `.` or `..` segment (it would climb the URL path it is put in). */
export const hasDotSegment = (name: string) => name.split("/").some((s) => s === "." || s === "..");

/** Config fields every git host accepts (the filters are added by the registry). */
export const gitConfigFields = {
  repo: z
    .string({ error: "repo is required: the repository as owner/name (or name the source owner/name)" })
    .trim()
    .regex(/^[\w.-]+(\/[\w.-]+)+$/, "repo must look like owner/name")
    .refine((repo) => !hasDotSegment(repo), "repo must not contain . or .. segments"),
  branch: z.string().trim().min(1).max(255).optional(),
  token: z.string().min(1, "token must not be empty").optional(),
  credentialId: z.uuid({ error: "credentialId must be a UUID" }).optional(),
};

export const configFromName = (name: string) =>
  /^[\w.-]+(\/[\w.-]+)+$/.test(name.trim()) ? { repo: name.trim() } : {};

/** `sha256=<hex>` over the raw body, checked in constant time. */
export function verifyHmacSha256(rawBody: string, secret: string, signature: string | null): boolean {
  if (!signature?.startsWith("sha256=")) return false;
  const expected = `sha256=${createHmac("sha256", secret).update(rawBody, "utf8").digest("hex")}`;
  return safeEqual(expected, signature.trim().toLowerCase());
}

/**
 * A Git LFS pointer (spec v1): a small text file that stands for an object stored outside the
 * repository. Hosts serve the pointer in trees, blobs and archives alike.
 */
export function isLfsPointer(content: Buffer): boolean {
  if (content.length > 1024) return false;
  const text = content.toString("utf8");
  return (
    text.startsWith("version https://git-lfs.github.com/spec/v1\n") &&
    /^oid sha256:[0-9a-f]{64}$/m.test(text) &&
    /^size \d+$/m.test(text)
  );
}

/** A source whose branch is gone: what happened and what to do, for the job and the source. */
export function branchGoneError(repo: string, branch: string, defaultBranch: string | null): ConnectorConfigError {
  const now =
    defaultBranch && defaultBranch !== branch ? ` The repository's default branch is now "${defaultBranch}".` : "";
  return new ConnectorConfigError(
    `The branch "${branch}" no longer exists in ${repo}: it was deleted or renamed.${now} Set the source's branch (config.branch) to the branch to follow; the next sync then indexes it.`,
    "branch",
  );
}

/** Added, modified and removed paths of a push's commits, oldest first, as one change list. */
export function changesFromCommits(
  commits: { added?: string[]; modified?: string[]; removed?: string[] }[],
): FileChange[] {
  const state = new Map<string, "upsert" | "delete">();
  for (const commit of commits) {
    for (const p of [...(commit.added ?? []), ...(commit.modified ?? [])]) state.set(p, "upsert");
    for (const p of commit.removed ?? []) state.set(p, "delete");
  }
  return [...state].map(([path, kind]) => ({ kind, path }));
}

/** The remembered listing of one pinned commit: path → blob SHA, for metadata without a request. */
export class BlobIndex {
  private readonly files = new Map<string, RemoteFile>();
  set(file: RemoteFile): void {
    this.files.set(file.path, file);
  }
  get(path: string): RemoteFile | undefined {
    return this.files.get(path);
  }
}

/**
 * The one rule for what a git source indexes, applied by listings, archives and diffs alike:
 * regular files (100644, 100755). Symlinks (120000) and submodules (160000) are never indexed.
 */
export const isRegularFileMode = (mode: string | undefined) =>
  mode === undefined || mode === "100644" || mode === "100755";

/**
 * A diff entry whose new side is not a regular file (a file turned symlink, a submodule bump)
 * removes the path, and a rename's old path, from the index: a full sync would not hold it.
 */
export function changeForDiffEntry(entry: {
  path: string;
  previousPath?: string | null;
  regular: boolean;
  file?: RemoteFile;
}): FileChange[] {
  if (!entry.regular) {
    const gone: FileChange[] = [{ kind: "delete", path: entry.path }];
    if (entry.previousPath && entry.previousPath !== entry.path)
      gone.push({ kind: "delete", path: entry.previousPath });
    return gone;
  }
  if (entry.previousPath && entry.previousPath !== entry.path)
    return [{ kind: "rename", path: entry.path, previousPath: entry.previousPath, file: entry.file }];
  return [{ kind: "upsert", path: entry.path, file: entry.file }];
}
