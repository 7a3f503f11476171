import { createHash } from "node:crypto";
import type { Connector, RemoteFile } from "@/lib/connectors/types";
import { ConnectorFileError } from "@/lib/connectors/errors";
import { isBinary, type FileFilter } from "@/lib/sync/filters";
import { mapLimit } from "@/lib/map-limit";
import type { VerifyResult } from "@/lib/db/schema";

/** Example paths kept per kind of difference. */
export const MAX_EXAMPLES = 100;

export type IndexRow = {
  path: string;
  sha: string | null;
  size: number | null;
  providerId: string | null;
  providerVersion: string | null;
};

export type Comparison = Omit<VerifyResult, "behind">;

export type CompareOptions = {
  connector: Connector;
  filter: FileFilter;
  index: Map<string, IndexRow>;
  /**
   * How the source is read: `listing` compares the provider's versions (and ids, sizes) with
   * the index and reads no content; `listing-hash-differing` (local) hashes the files whose
   * listed version differs; `archive` (Bitbucket, whose listing has no blob ids) hashes every
   * file of one archive.
   */
  mode: "listing" | "listing-hash-differing" | "archive";
  /** Files the latest sync recorded as failed: known to the user, so not counted as missing. */
  knownFailures: Set<string>;
};

function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

class Findings {
  readonly missing: string[] = [];
  readonly extra: string[] = [];
  readonly differing: string[] = [];

  result(): Comparison {
    const sorted = (paths: string[]) => [...paths].sort().slice(0, MAX_EXAMPLES);
    return {
      missing: this.missing.length,
      extra: this.extra.length,
      differing: this.differing.length,
      examples: { missing: sorted(this.missing), extra: sorted(this.extra), differing: sorted(this.differing) },
    };
  }
}

/**
 * Compares the index of a source with one listing of it, without changing either. A listed
 * file counts only when the source's current filters keep it (path, language, size), so files
 * the filters drop are never missing; indexed rows the filters now drop are extra. A listed
 * file absent from the index is read once to apply the content checks a sync applies (binary,
 * size): only a file a sync would index is missing.
 */
export async function compareIndex(options: CompareOptions): Promise<Comparison> {
  const { connector, filter, index, mode, knownFailures } = options;
  const findings = new Findings();
  const seen = new Set<string>();
  const unindexed: RemoteFile[] = [];
  const toHash: { file: RemoteFile; row: IndexRow }[] = [];
  const wanted = (path: string, size: number | null) =>
    filter.checkPath(path).keep && (size === null || size <= filter.maxFileSize);

  if (mode === "archive") {
    for await (const entry of connector.streamFiles!({ accept: (p, size) => wanted(p, size) })) {
      if (!wanted(entry.path, entry.size) || isBinary(entry.content)) continue;
      seen.add(entry.path);
      const row = index.get(entry.path);
      if (!row) {
        if (!knownFailures.has(entry.path)) findings.missing.push(entry.path);
      } else if (row.sha !== sha256(entry.content)) findings.differing.push(entry.path);
    }
  } else {
    for await (const file of connector.listFiles()) {
      if (!wanted(file.path, file.size)) continue;
      const row = index.get(file.path);
      if (!row) {
        if (!knownFailures.has(file.path)) unindexed.push(file);
        continue;
      }
      seen.add(file.path);
      if (file.id && row.providerId && file.id !== row.providerId) findings.differing.push(file.path);
      else if (file.size !== null && row.size !== null && file.size !== row.size) findings.differing.push(file.path);
      else if (file.version !== null && file.version === row.providerVersion) continue;
      else if (mode === "listing-hash-differing") toHash.push({ file, row });
      else findings.differing.push(file.path);
    }
  }

  const read = async (file: RemoteFile): Promise<Buffer | null> => {
    try {
      return await connector.getFileContent(file.path, file);
    } catch (err) {
      if (err instanceof ConnectorFileError) return null;
      throw err;
    }
  };
  // Same size, another mtime (a touch, a checkout): equal content is no difference.
  await mapLimit(toHash, 8, async ({ file, row }) => {
    const content = await read(file);
    if (content === null || sha256(content) !== row.sha) findings.differing.push(file.path);
  });
  await mapLimit(unindexed, 8, async (file) => {
    const content = await read(file);
    if (content === null) return;
    seen.add(file.path);
    if (content.length <= filter.maxFileSize && !isBinary(content)) findings.missing.push(file.path);
  });

  for (const path of index.keys()) if (!seen.has(path)) findings.extra.push(path);
  return findings.result();
}
