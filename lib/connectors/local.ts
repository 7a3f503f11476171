import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_EXCLUDED_DIRS } from "@/lib/sync/filters";
import { mapLimit } from "@/lib/sync/map-limit";
import { ConnectorConfigError, ConnectorFileError } from "./errors";
import type { Connector, ConnectorContext, ConnectorDefinition, RemoteFile } from "./types";

export const localConfigSchema = z.object({
  path: z.string({ error: "path is required: the absolute folder to index" }).min(1, "path is required"),
});

/** The folders local sources may read, from LOCAL_SOURCE_ROOTS (colon-separated absolute paths). */
export function localSourceRoots(): string[] {
  return (process.env.LOCAL_SOURCE_ROOTS ?? "")
    .split(":")
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => path.resolve(r));
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

async function realRoots(): Promise<string[]> {
  const roots = await Promise.all(localSourceRoots().map((r) => fs.realpath(r).catch(() => null)));
  return roots.filter((r): r is string => r !== null);
}

/** Resolves a configured folder to its real path, refusing anything outside LOCAL_SOURCE_ROOTS. */
export async function resolveLocalRoot(folder: string): Promise<string> {
  const roots = localSourceRoots();
  if (roots.length === 0) {
    throw new ConnectorConfigError(
      "No folder may be read yet: set LOCAL_SOURCE_ROOTS to a colon-separated list of absolute folders (for example LOCAL_SOURCE_ROOTS=/srv/code) and restart the app.",
      "path",
    );
  }
  if (!path.isAbsolute(folder)) {
    throw new ConnectorConfigError(`path must be an absolute folder, got "${folder}".`, "path");
  }
  const real = await fs.realpath(folder).catch(() => null);
  if (!real) throw new ConnectorConfigError(`The folder ${folder} does not exist.`, "path");
  const allowed = await realRoots();
  if (!allowed.some((root) => isInside(root, real))) {
    throw new ConnectorConfigError(
      `${folder} is outside the allowed folders (${roots.join(", ")}). Add it to LOCAL_SOURCE_ROOTS to allow it.`,
      "path",
    );
  }
  const stat = await fs.stat(real);
  if (!stat.isDirectory()) throw new ConnectorConfigError(`${folder} is not a folder.`, "path");
  return real;
}

const EXCLUDED = new Set(DEFAULT_EXCLUDED_DIRS);

class LocalConnector implements Connector {
  private root: Promise<string> | null = null;
  constructor(private readonly folder: string) {}

  private rootPath(): Promise<string> {
    this.root ??= resolveLocalRoot(this.folder);
    return this.root;
  }

  async validateConnection(): Promise<void> {
    await this.rootPath();
  }

  /** The real path of `relative`, or null when it escapes the root (`..`, a symlink out). */
  private async resolveInside(relative: string): Promise<string | null> {
    const root = await this.rootPath();
    const joined = path.resolve(root, relative);
    if (!isInside(root, joined)) return null;
    const real = await fs.realpath(joined).catch(() => null);
    return real && isInside(root, real) ? real : null;
  }

  async *listFiles(start = "", recursive = true): AsyncIterable<RemoteFile> {
    const root = await this.rootPath();
    const base = start.replace(/^\/+|\/+$/g, "");
    if (base && !(await this.resolveInside(base))) return;
    const stack = [base];
    while (stack.length > 0) {
      const relDir = stack.pop()!;
      const dir = await fs.opendir(path.join(root, relDir)).catch(() => null);
      if (!dir) continue;
      const names: { rel: string; symlink: boolean }[] = [];
      for await (const entry of dir) {
        const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
        // The walk never follows a symlinked folder, so only a symlink itself can point outside.
        if (entry.isDirectory()) {
          if (recursive && !EXCLUDED.has(entry.name)) stack.push(rel);
        } else if (entry.isFile() || entry.isSymbolicLink()) {
          names.push({ rel, symlink: entry.isSymbolicLink() });
        }
      }
      const listed = await mapLimit(names, 32, ({ rel, symlink }) =>
        (symlink ? this.getFileMetadata(rel) : this.statFile(rel, path.join(root, rel))).catch(() => null),
      );
      for (const file of listed) if (file) yield file;
    }
  }

  private async statFile(relative: string, real: string): Promise<RemoteFile | null> {
    const stat = await fs.stat(real).catch(() => null);
    if (!stat?.isFile()) return null;
    return {
      path: relative,
      size: stat.size,
      version: `${stat.size}:${Math.trunc(stat.mtimeMs)}`,
      lastModified: stat.mtime,
    };
  }

  async getFileMetadata(relative: string): Promise<RemoteFile | null> {
    const real = await this.resolveInside(relative);
    return real ? this.statFile(relative, real) : null;
  }

  async getFileContent(relative: string): Promise<Buffer> {
    const real = await this.resolveInside(relative);
    if (!real) throw new ConnectorFileError(relative, "the file is gone or outside the source folder");
    try {
      return await fs.readFile(real);
    } catch (err) {
      throw new ConnectorFileError(relative, `cannot read: ${(err as Error).message}`);
    }
  }

  async currentCursor(): Promise<string | null> {
    return null;
  }
}

export const localConnector: ConnectorDefinition = {
  type: "local",
  configSchema: localConfigSchema,
  create: (context: ConnectorContext) => new LocalConnector(String(context.config.path ?? "")),
};
