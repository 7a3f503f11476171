import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { ConnectorError } from "../errors";
import { providerLimits } from "../provider-limits";
import type { RemoteFileWithContent, StreamFilesOptions } from "../types";

/** The git blob SHA-1 of `content`: equal to the SHA a tree lists for the same file. */
export function gitBlobSha(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/**
 * Reads a .tar.gz repository archive as it arrives, entry by entry: only the entries that
 * `accept` wants are buffered (one at a time), the rest are skipped unread, so memory stays
 * at one file whatever the archive's size. Every provider prefixes the entries with one
 * top-level folder (`owner-repo-sha/`), which is removed. An archive of more than
 * PROVIDER_MAX_ENTRIES entries fails.
 */
export async function* readTarGz(
  body: ReadableStream<Uint8Array>,
  options: StreamFilesOptions = {},
): AsyncIterable<RemoteFileWithContent> {
  const extract = tar.extract();
  const source = Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>);
  const gunzip = createGunzip();
  const fail = (err: Error) => extract.destroy(err);
  source.on("error", fail);
  gunzip.on("error", fail);
  source.pipe(gunzip).pipe(extract);
  const { maxEntries } = providerLimits();
  let entries = 0;
  try {
    for await (const entry of extract) {
      if (++entries > maxEntries)
        throw new ConnectorError(
          `The repository archive has more than ${maxEntries} entries, the limit for one archive (PROVIDER_MAX_ENTRIES).`,
        );
      const { header } = entry;
      const slash = header.name.indexOf("/");
      const path = slash >= 0 ? header.name.slice(slash + 1) : "";
      // Symlinks and submodules are not files of the repository's own content.
      if (header.type !== "file" || !path || !(options.accept?.(path, header.size ?? 0) ?? true)) {
        entry.resume();
        continue;
      }
      const parts: Buffer[] = [];
      for await (const chunk of entry) parts.push(chunk as Buffer);
      const content = Buffer.concat(parts);
      yield { path, size: content.length, version: gitBlobSha(content), lastModified: header.mtime ?? null, content };
    }
  } finally {
    source.destroy();
  }
}
